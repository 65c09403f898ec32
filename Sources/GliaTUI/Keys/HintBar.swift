// The hint bar: the right end of the status line, listing keys of the active modes from the key
// table. Global hints (help, quit) always stay; the mode's own hints are dropped from the end when
// the bar would take more than its share of the line.

/// One hint: key names and a short label.
public struct Hint: Sendable, Equatable {
    /// Key names, "/"-joined when bindings share the label ("a/r/f").
    public var keys: String
    /// What they do.
    public var label: String

    /// A hint.
    public init(keys: String, label: String) {
        self.keys = keys
        self.label = label
    }

    /// Cells the hint takes in the bar.
    var width: Int { keys.count + label.count + 3 }
}

/// Building and drawing hint bars.
public enum HintBar {
    /// The hints of `modes` in `table`: the modes' own first, the global ones (help, quit) last;
    /// consecutive bindings with one label are merged.
    public static func hints(_ table: KeyTable, modes: [KeyMode], glyphs: GlyphMode) -> [Hint] {
        let ordered = modes.filter { $0 != .global } + (modes.contains(.global) ? [.global] : [])
        var hints: [Hint] = []
        for mode in ordered {
            var last: String?
            for binding in table.bindings(mode) {
                guard let label = binding.hint, let key = binding.keys.first else {
                    last = nil
                    continue
                }
                let name = key.label(glyphs: glyphs)
                if label == last, !hints.isEmpty {
                    hints[hints.count - 1].keys += "/" + name
                } else {
                    hints.append(Hint(keys: name, label: label))
                }
                last = label
            }
        }
        return hints.map { hint in
            // "1/2/3/4" reads better as a range.
            let parts = hint.keys.split(separator: "/").compactMap { Int($0) }
            guard parts.count > 2, parts == Array(parts[0]...parts[parts.count - 1]) else { return hint }
            return Hint(keys: "\(parts[0])-\(parts[parts.count - 1])", label: hint.label)
        }
    }

    /// `hints` cut to `width` cells: the last `kept` (the global ones) stay, others go from the end.
    static func fitted(_ hints: [Hint], width: Int, kept: Int) -> [Hint] {
        var own = Array(hints.dropLast(kept)), fixed = Array(hints.suffix(kept))
        while !own.isEmpty, (own + fixed).reduce(0, { $0 + $1.width }) > width { own.removeLast() }
        while !fixed.isEmpty, fixed.reduce(0, { $0 + $1.width }) > width { fixed.removeFirst() }
        return own + fixed
    }

    /// Cells the hints of `modes` take when given at most `width`.
    static func width(_ table: KeyTable, modes: [KeyMode], width: Int, glyphs: GlyphMode) -> Int {
        shown(table, modes: modes, width: width, glyphs: glyphs).reduce(0) { $0 + $1.width }
    }

    private static func shown(_ table: KeyTable, modes: [KeyMode], width: Int, glyphs: GlyphMode) -> [Hint] {
        let kept = modes.contains(.global) ? hints(table, modes: [.global], glyphs: glyphs).count : 0
        return fitted(hints(table, modes: modes, glyphs: glyphs), width: width, kept: kept)
    }

    /// Draws the hints of `modes` right-aligned on row `y`, using at most `width` cells; returns the
    /// cells used.
    @discardableResult
    static func draw(_ table: KeyTable, modes: [KeyMode], into buffer: inout CellBuffer, y: Int, width: Int, style: PaneStyle) -> Int {
        let theme = style.theme, bg = theme.statusBackground
        let shown = shown(table, modes: modes, width: width, glyphs: style.glyphs)
        let used = shown.reduce(0) { $0 + $1.width }
        var x = buffer.columns - used
        for hint in shown {
            x += buffer.text(hint.keys, x: x, y: y, foreground: theme.accent.readable(on: bg), background: bg, attributes: .bold)
            x += buffer.text(" \(hint.label)  ", x: x, y: y, foreground: theme.statusForeground, background: bg)
        }
        return used
    }
}
