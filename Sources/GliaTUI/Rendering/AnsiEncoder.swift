// Cells -> text with ANSI SGR colour escapes, for output that is not a curses screen (`glia show`).
//
// 24-bit colours are `ESC[38;2;R;G;Bm` / `ESC[48;2;R;G;Bm`; in 256-colour mode `ESC[38;5;Nm` /
// `ESC[48;5;Nm` with N from `Palette256` (16...255). An escape is written only when a colour
// changes, and every line ends with a reset so a cut-off pipe never leaves the terminal coloured.

/// Encodes a `CellBuffer` as lines of text with SGR colour codes.
public enum AnsiEncoder {
    /// The frame as terminal text; `.none` drops all colours and attributes.
    public static func encode(_ frame: CellBuffer, colorMode: ColorMode) -> String {
        var out = String.UnicodeScalarView()
        func append(_ s: String) { out.append(contentsOf: s.unicodeScalars) }
        for y in 0..<frame.rows {
            var current: Cell?
            for x in 0..<frame.columns {
                let cell = frame[x, y]
                if colorMode != .none {
                    if current?.foreground != cell.foreground || current?.background != cell.background
                        || current?.attributes != cell.attributes {
                        append(sgr(cell, colorMode))
                    }
                    current = cell
                }
                out.append(cell.character)
            }
            if colorMode != .none { append("\u{1B}[0m") }
            out.append("\n")
        }
        return String(out)
    }

    private static func sgr(_ cell: Cell, _ mode: ColorMode) -> String {
        var codes = ["0"]
        if cell.attributes.contains(.bold) { codes.append("1") }
        if cell.attributes.contains(.dim) { codes.append("2") }
        if cell.attributes.contains(.underline) { codes.append("4") }
        if cell.attributes.contains(.reverse) { codes.append("7") }
        codes.append(color(cell.foreground, layer: 38, mode))
        codes.append(color(cell.background, layer: 48, mode))
        return "\u{1B}[" + codes.joined(separator: ";") + "m"
    }

    private static func color(_ c: RGB, layer: Int, _ mode: ColorMode) -> String {
        mode == .direct ? "\(layer);2;\(c.r);\(c.g);\(c.b)" : "\(layer);5;\(Palette256.index(for: c))"
    }
}
