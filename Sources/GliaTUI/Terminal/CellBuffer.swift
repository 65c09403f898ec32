// A frame of cells plus the few drawing primitives views need (text, fills, boxes, blits).
//
// Layout: row-major, `cells[y * columns + x]`. Drawing outside the buffer is clipped silently, so
// views can lay out against any terminal size without bounds checks of their own.

/// A rectangle of cells.
public struct Rect: Hashable, Sendable {
    /// Left column.
    public var x: Int
    /// Top row.
    public var y: Int
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int

    /// A rectangle; negative sizes are treated as empty.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// Whether cell (px, py) lies inside.
    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < x + width && py >= y && py < y + height
    }

    /// The rectangle shrunk by `n` cells on every side.
    public func inset(_ n: Int) -> Rect { Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n) }
}

/// A grid of cells that views draw into and screens present.
public struct CellBuffer: Equatable, Sendable {
    /// Width in cells.
    public let columns: Int
    /// Height in cells.
    public let rows: Int
    /// `rows * columns` cells, row-major.
    public var cells: [Cell]

    /// A buffer filled with `fill`.
    public init(columns: Int, rows: Int, fill: Cell) {
        self.columns = max(0, columns)
        self.rows = max(0, rows)
        cells = Array(repeating: fill, count: self.columns * self.rows)
    }

    /// The cell at (x, y); the caller keeps (x, y) inside the buffer.
    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * columns + x] }
        set { cells[y * columns + x] = newValue }
    }

    /// Sets one cell, ignoring positions outside the buffer.
    public mutating func put(_ cell: Cell, x: Int, y: Int) {
        guard x >= 0, y >= 0, x < columns, y < rows else { return }
        cells[y * columns + x] = cell
    }

    /// Fills `rect` (clipped) with `cell`.
    public mutating func fill(_ rect: Rect, with cell: Cell) {
        let x0 = max(0, rect.x), x1 = min(columns, rect.x + rect.width)
        let y0 = max(0, rect.y), y1 = min(rows, rect.y + rect.height)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 { for x in x0..<x1 { cells[y * columns + x] = cell } }
    }

    /// Writes `text` from (x, y) rightwards, at most `maxWidth` cells (nil = to the buffer's edge);
    /// scalars that are not single-width printable are shown as `?`. Returns the cells used.
    @discardableResult
    public mutating func text(_ text: String, x: Int, y: Int, maxWidth: Int? = nil,
                              foreground: RGB, background: RGB, attributes: CellAttributes = []) -> Int {
        let limit = min(maxWidth ?? Int.max, columns - x)
        guard limit > 0, y >= 0, y < rows else { return 0 }
        var used = 0
        for scalar in text.unicodeScalars {
            if used >= limit { break }
            let shown = CellBuffer.isSingleWidth(scalar) ? scalar : "?"
            put(Cell(shown, foreground: foreground, background: background, attributes: attributes), x: x + used, y: y)
            used += 1
        }
        return used
    }

    /// Copies `source` with its top-left corner at (x, y), clipped.
    public mutating func blit(_ source: CellBuffer, x: Int, y: Int) {
        for sy in 0..<source.rows {
            let ty = y + sy
            guard ty >= 0, ty < rows else { continue }
            for sx in 0..<source.columns {
                let tx = x + sx
                guard tx >= 0, tx < columns else { continue }
                cells[ty * columns + tx] = source.cells[sy * source.columns + sx]
            }
        }
    }

    /// Draws a frame around `rect` with an optional title in its top edge.
    public mutating func box(_ rect: Rect, title: String, glyphs: GlyphMode, foreground: RGB, background: RGB,
                             titleAttributes: CellAttributes = .bold) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let unicode = glyphs == .unicode
        let h: Unicode.Scalar = unicode ? "─" : "-", v: Unicode.Scalar = unicode ? "│" : "|"
        let corners: [Unicode.Scalar] = unicode ? ["┌", "┐", "└", "┘"] : ["+", "+", "+", "+"]
        let right = rect.x + rect.width - 1, bottom = rect.y + rect.height - 1
        func cell(_ c: Unicode.Scalar) -> Cell { Cell(c, foreground: foreground, background: background) }
        for x in rect.x...right {
            put(cell(h), x: x, y: rect.y)
            put(cell(h), x: x, y: bottom)
        }
        for y in rect.y...bottom {
            put(cell(v), x: rect.x, y: y)
            put(cell(v), x: right, y: y)
        }
        put(cell(corners[0]), x: rect.x, y: rect.y)
        put(cell(corners[1]), x: right, y: rect.y)
        put(cell(corners[2]), x: rect.x, y: bottom)
        put(cell(corners[3]), x: right, y: bottom)
        if !title.isEmpty, rect.width > 4 {
            text(" \(title) ", x: rect.x + 1, y: rect.y, maxWidth: rect.width - 2,
                 foreground: foreground, background: background, attributes: titleAttributes)
        }
    }

    /// The frame's characters as lines of text (colours dropped), for tests and debugging.
    public var plainText: [String] {
        (0..<rows).map { y in
            var s = String.UnicodeScalarView()
            for x in 0..<columns { s.append(cells[y * columns + x].character) }
            return String(s)
        }
    }

    /// Printable and one column wide in a terminal: control characters, combining marks and the
    /// East Asian wide ranges are not (a conservative test that needs no locale tables).
    public static func isSingleWidth(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return false }
        if v >= 0x0300 && v < 0x0370 { return false }
        return v < 0x1100 || (v >= 0x2000 && v < 0x2E80)
    }
}
