// The `?` overlay: every key the workstation understands, grouped. `App.handle` implements them;
// keep this list and those handlers in step.
import Foundation

/// The key reference shown by `?`.
public enum HelpOverlay {
    /// A group of keys with a heading.
    public struct Section: Sendable {
        /// Heading of the group.
        public let title: String
        /// Key names and what they do.
        public let keys: [(key: String, action: String)]
    }

    /// Every key, grouped; the help overlay shows exactly this.
    public static let sections: [Section] = [
        Section(title: "Everywhere", keys: [
            ("Tab / S-Tab", "next / previous pane"),
            ("n / p", "next / previous slice"),
            ("t", "next colour theme"),
            ("?", "toggle this help"),
            ("Ctrl-L", "redraw the screen"),
            ("q / Ctrl-C", "quit"),
            ("click / wheel", "select / scroll"),
        ]),
        Section(title: "Lists", keys: [
            ("j k / ↓ ↑", "move down / up"),
            ("PgDn / PgUp", "move a page"),
            ("Home End g G", "first / last row"),
            ("Enter", "go to the next pane"),
            ("/", "filter; Esc clears"),
            ("s", "cycle sort order"),
        ]),
        Section(title: "Viewer", keys: [
            ("j k / ↓ ↑", "next / previous slice"),
            ("PgDn / PgUp", "10 slices on / back"),
            ("Home / End", "first / last slice"),
            ("c", "cycle channel"),
            ("o", "cycle overlay style"),
            ("+ / -", "overlay opacity"),
            ("[ / ]", "narrow / widen window"),
            ("{ / }", "lower / raise level"),
            ("z / Z", "zoom in / out"),
            ("H J K L", "pan the zoomed view"),
            ("0", "reset window and zoom"),
        ]),
        // The dashboard and triage screens list their own keys on screen; here only the way in and out.
        Section(title: "Modes", keys: [
            ("D / T", "dashboard / triage"),
            ("B / Esc", "back to the browser"),
            ("in dashboard", "Space pause, x stop"),
            ("in triage", "a r f, 1-4, m note"),
        ]),
    ]

    /// Draws the overlay centred in `area`, in two columns when there is room.
    static func draw(into buffer: inout CellBuffer, area: Rect, style: PaneStyle) {
        let theme = style.theme
        let keyWidth = 14, actionWidth = 21
        let columnWidth = keyWidth + actionWidth + 1
        let lines = sections.map { $0.keys.count + 2 }
        let twoColumns = area.width >= 2 * columnWidth + 5
        let leftSections = twoColumns ? 2 : sections.count
        let leftHeight = lines.prefix(leftSections).reduce(0, +)
        let rightHeight = lines.dropFirst(leftSections).reduce(0, +)
        let width = min(area.width, (twoColumns ? 2 * columnWidth + 3 : columnWidth) + 4)
        let height = min(area.height, max(leftHeight, rightHeight) + 3)
        let rect = Rect(x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width: width, height: height)
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.statusBackground))
        buffer.box(rect, title: "Keys", glyphs: style.glyphs, foreground: theme.focus, background: theme.statusBackground)
        var x = rect.x + 2, y = rect.y + 1
        for (index, section) in sections.enumerated() {
            if twoColumns && index == leftSections {
                x += columnWidth + 3
                y = rect.y + 1
            }
            y += 1
            guard y < rect.y + rect.height - 1 else { continue }
            buffer.text(section.title, x: x, y: y, maxWidth: columnWidth, foreground: theme.header,
                        background: theme.statusBackground, attributes: .bold)
            y += 1
            for entry in section.keys where y < rect.y + rect.height - 1 {
                let key = style.glyphs == .unicode ? entry.key
                    : entry.key.replacingOccurrences(of: "↓", with: "Dn").replacingOccurrences(of: "↑", with: "Up")
                buffer.text(key, x: x + 1, y: y, maxWidth: keyWidth - 1, foreground: theme.accent,
                            background: theme.statusBackground, attributes: .bold)
                buffer.text(entry.action, x: x + keyWidth, y: y, maxWidth: min(actionWidth, rect.x + rect.width - 2 - x - keyWidth),
                            foreground: theme.statusForeground, background: theme.statusBackground)
                y += 1
            }
        }
    }
}
