// The `?` overlay: the keys of the screen it was opened on, read from the key table (so it lists
// exactly what dispatch does, remappings included), in as many columns as fit and in pages when
// even those are not enough.
import Foundation

/// The key reference shown by `?`.
public enum HelpOverlay {
    /// One line of the overlay.
    public enum Line: Sendable, Equatable {
        /// A mode's heading.
        case heading(String)
        /// Key names and what they do.
        case key(String, String)
        /// Space between two modes.
        case blank
    }

    /// The overlay's lines for `modes`: the global keys first, then each mode's, one line per binding.
    public static func lines(_ table: KeyTable, modes: [KeyMode], glyphs: GlyphMode) -> [Line] {
        let ordered = (modes.contains(.global) ? [KeyMode.global] : []) + modes.filter { $0 != .global }
        var lines: [Line] = []
        for mode in ordered where !table.bindings(mode).isEmpty {
            if !lines.isEmpty { lines.append(.blank) }
            lines.append(.heading(mode.title))
            for binding in table.bindings(mode) {
                lines.append(.key(binding.keys.map { $0.label(glyphs: glyphs) }.joined(separator: " "), binding.label))
            }
        }
        return lines
    }

    /// Pages the overlay needs in `area`.
    static func pageCount(lineCount: Int, area: Rect, columnWidth: Int) -> (pages: Int, columns: Int, height: Int) {
        let columns = max(1, min(3, (area.width - 4 + 3) / (columnWidth + 3)))
        let capacity = max(1, area.height - 2)
        let height = min(capacity, (lineCount + columns - 1) / columns)
        let perPage = max(1, height * columns)
        return ((lineCount + perPage - 1) / perPage, columns, height)
    }

    /// Draws page `page` of the overlay for `lines` centred in `area`; `notes` go under the keys.
    /// Returns the number of pages.
    @discardableResult
    static func draw(_ lines: [Line], page: Int, notes: [String], into buffer: inout CellBuffer, area: Rect, style: PaneStyle) -> Int {
        let theme = style.theme, bg = theme.statusBackground
        var keyWidth = 0, actionWidth = 0
        for case .key(let key, let action) in lines {
            keyWidth = max(keyWidth, key.count)
            actionWidth = max(actionWidth, action.count)
        }
        keyWidth += 2  // a gap, so a long key name never runs into its action
        let columnWidth = keyWidth + actionWidth
        // Room for the notes and a page line under the keys.
        let keyArea = Rect(x: area.x, y: area.y, width: area.width, height: area.height - notes.count - 1)
        let layout = pageCount(lineCount: lines.count, area: keyArea, columnWidth: columnWidth)
        let current = max(0, min(layout.pages - 1, page))
        let perPage = layout.height * layout.columns
        let shown = Array(lines.dropFirst(current * perPage).prefix(perPage))
        let usedColumns = max(1, min(layout.columns, (shown.count + layout.height - 1) / max(1, layout.height)))
        let width = min(area.width, usedColumns * (columnWidth + 3) + 1)
        let footer = notes + (layout.pages > 1 ? ["page \(current + 1)/\(layout.pages): PgDn/PgUp turn, any other key closes"] : [])
        let height = min(area.height, layout.height + footer.count + 2)
        let rect = Rect(x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width: width, height: height)
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: bg))
        buffer.box(rect, title: "Keys", glyphs: style.glyphs, foreground: theme.focus.readable(on: bg), background: bg)
        let inner = rect.inset(1)
        for (i, line) in shown.enumerated() {
            let x = inner.x + 1 + (i / layout.height) * (columnWidth + 3), y = inner.y + i % layout.height
            guard y < inner.y + inner.height else { continue }
            let room = inner.x + inner.width - x
            switch line {
            case .heading(let title):
                buffer.text(title, x: x, y: y, maxWidth: room, foreground: theme.header.readable(on: bg), background: bg, attributes: .bold)
            case .key(let key, let action):
                buffer.text(key, x: x, y: y, maxWidth: min(keyWidth, room), foreground: theme.accent.readable(on: bg),
                            background: bg, attributes: .bold)
                buffer.text(action, x: x + keyWidth, y: y, maxWidth: max(0, room - keyWidth), foreground: theme.statusForeground,
                            background: bg)
            case .blank: break
            }
        }
        for (i, note) in footer.enumerated() where inner.y + layout.height + i < inner.y + inner.height {
            buffer.text(note, x: inner.x + 1, y: inner.y + layout.height + i, maxWidth: inner.width - 2,
                        foreground: theme.muted.readable(on: bg), background: bg)
        }
        return layout.pages
    }
}
