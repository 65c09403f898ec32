// CSV: a small RFC 4180 reader and writer (quoted fields, "" escapes, commas and line breaks inside
// quotes, LF or CRLF line ends, an optional UTF-8 byte-order mark).
import Foundation

/// A CSV text that is not well formed; names the file and the line.
public struct CSVError: Error, CustomStringConvertible, LocalizedError {
    public let source: String
    public let line: Int
    public let message: String
    public var description: String { "\(source):\(line): \(message)" }
    public var errorDescription: String? { description }
}

/// RFC 4180 parsing and quoting.
public enum CSV {
    /// Parses `text` into rows of fields. `source` names the text in errors. Blank lines are skipped.
    public static func parse(_ text: String, source: String = "CSV") throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var i = 0
        var line = 1
        var quoted = false
        var fieldWasQuoted = false
        var quoteLine = 1
        func endField() {
            row.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
        }
        func endRow() {
            endField()
            if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
            row = []
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
            } else {
                switch b {
                case UInt8(ascii: "\""):
                    guard field.isEmpty && !fieldWasQuoted else {
                        throw CSVError(source: source, line: line, message: "quote inside an unquoted field")
                    }
                    quoted = true
                    fieldWasQuoted = true
                    quoteLine = line
                case UInt8(ascii: ","):
                    endField()
                case UInt8(ascii: "\r") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n"):
                    break
                case UInt8(ascii: "\n"):
                    endRow()
                    line += 1
                default:
                    if fieldWasQuoted {
                        throw CSVError(source: source, line: line, message: "text after a closing quote")
                    }
                    field.append(b)
                }
            }
            i += 1
        }
        if quoted { throw CSVError(source: source, line: quoteLine, message: "quoted field is never closed") }
        if !field.isEmpty || !row.isEmpty || fieldWasQuoted { endRow() }
        return rows
    }

    /// Reads and parses a CSV file.
    public static func read(_ url: URL) throws -> [[String]] {
        try FileKind.requireRegular(url)
        let data = try Data(contentsOf: url)
        return try parse(String(decoding: data, as: UTF8.self), source: url.path)
    }

    /// One field, quoted when it holds a comma, quote or line break.
    public static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Rows as CSV text with LF line ends.
    public static func format(_ rows: [[String]]) -> String {
        rows.map { $0.map(quote).joined(separator: ",") + "\n" }.joined()
    }
}
