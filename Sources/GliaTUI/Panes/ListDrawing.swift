// Drawing shared by the list panes: boxed title, column headers, rows with a selection bar and a
// scroll thumb on the right border.

/// Theme plus glyph and graphics modes: what every pane needs to draw.
public struct PaneStyle: Sendable {
    /// Colours.
    public var theme: Theme
    /// Unicode or ASCII glyphs.
    public var glyphs: GlyphMode
    /// How images are drawn (a text mode, or a pixel protocol the screen sends).
    public var graphics: GraphicsMode
    /// Pixel size of a cell, for pixel protocols.
    public var cellSize: CellSize

    /// A style; images default to half blocks (ASCII with ASCII glyphs).
    public init(theme: Theme, glyphs: GlyphMode, graphics: GraphicsMode? = nil, cellSize: CellSize = .guess) {
        self.theme = theme
        self.glyphs = glyphs
        self.graphics = glyphs == .ascii ? .ascii : graphics ?? .blocks
        self.cellSize = cellSize
    }

    /// Border colour of a pane, brighter when it has the keyboard.
    public func border(focused: Bool) -> RGB { focused ? theme.focus : theme.border }
}

/// One column of a list.
public struct ListColumn: Sendable {
    /// Header text.
    public var title: String
    /// Width in cells (text is cut to it).
    public var width: Int
    /// Right-align (numbers) instead of left.
    public var alignRight: Bool
}

/// Draws a boxed list; `row(i)` gives each column's text and optional colour (nil = foreground).
func drawList(into buffer: inout CellBuffer, rect: Rect, title: String, columns: [ListColumn],
              state: inout ListState, focused: Bool, style: PaneStyle, row: (Int) -> [(String, RGB?)]) {
    let theme = style.theme
    buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.background))
    buffer.box(rect, title: title, glyphs: style.glyphs, foreground: style.border(focused: focused),
               background: theme.background, titleAttributes: focused ? .bold : [])
    let inner = rect.inset(1)
    guard inner.width > 0, inner.height > 1 else { return }
    func line(_ texts: [(String, RGB?)], y: Int, foreground: RGB, background: RGB, attributes: CellAttributes, override: Bool) {
        buffer.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", foreground: foreground, background: background))
        var x = inner.x + 1
        for (column, (text, color)) in zip(columns, texts) {
            let clipped = String(text.prefix(column.width))
            let pad = column.alignRight ? column.width - clipped.count : 0
            let limit = inner.x + inner.width - x
            guard limit > 0 else { break }
            buffer.text(clipped, x: x + pad, y: y, maxWidth: max(0, limit - pad),
                        foreground: override ? foreground : (color ?? foreground).readable(on: background), background: background,
                        attributes: attributes)
            x += column.width + 1
        }
    }
    line(columns.map { ($0.title, nil) }, y: inner.y, foreground: theme.header, background: theme.background,
         attributes: .bold, override: true)
    let visible = BrowserPane.visibleRows(in: rect)
    state.reveal(visibleRows: visible)
    if state.count == 0 {
        buffer.text("(nothing matches)", x: inner.x + 1, y: inner.y + 1, maxWidth: inner.width - 1,
                    foreground: theme.muted, background: theme.background)
        return
    }
    for i in 0..<min(visible, state.count - state.offset) {
        let index = state.offset + i
        let y = inner.y + 1 + i
        if index == state.selected {
            let background = focused ? theme.selectionBackground : theme.selectionBackground.blended(with: theme.background, alpha: 0.35)
            line(row(index), y: y, foreground: theme.selectionForeground, background: background,
                 attributes: focused ? .bold : [], override: focused)
            let marker: Unicode.Scalar = style.glyphs == .unicode ? "▶" : ">"
            buffer.put(Cell(marker, foreground: focused ? theme.focus : theme.muted, background: background), x: inner.x, y: y)
        } else {
            line(row(index), y: y, foreground: theme.foreground, background: theme.background, attributes: [], override: false)
        }
    }
    // Scroll thumb on the right border when the list is longer than the view.
    if state.count > visible {
        let track = visible
        let thumb = min(track - 1, state.offset * track / max(1, state.count - visible + 1))
        let glyph: Unicode.Scalar = style.glyphs == .unicode ? "█" : "#"
        buffer.put(Cell(glyph, foreground: style.border(focused: focused), background: theme.background),
                   x: rect.x + rect.width - 1, y: inner.y + 1 + thumb)
    }
}
