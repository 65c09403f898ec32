// A plain-text table with aligned columns, for command output (numbers right-aligned).
struct TextTable {
    var header: [String]
    var rows: [[String]]

    var rendered: String {
        let columns = header.count
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < columns { widths[i] = max(widths[i], cell.count) } }
        func isNumeric(_ s: String) -> Bool { Double(s.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "x", with: "")) != nil }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return isNumeric(cell) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingSuffixSpaces()
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

private extension String {
    func trimmingSuffixSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
