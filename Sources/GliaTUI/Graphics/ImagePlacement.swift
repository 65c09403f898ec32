// An image a pane wants drawn with a pixel protocol, over a rectangle of the frame's cells.
//
// Panes fill the rectangle with blank cells and hand the pixels over; the screen sends them after
// the cells (see `GraphicsWriter`). The key names the content: a placement whose key and rectangle
// match the one already on the terminal is not sent again, so a redraw for another reason (the
// status bar changed, a list moved) costs no image bytes.

/// Pixels for a rectangle of cells, and how to send them.
public struct ImagePlacement: Sendable {
    /// Cells covered, in screen coordinates.
    public var rect: Rect
    /// The pixels, scaled by the terminal to fill `rect` (sixel: sent 1:1).
    public var raster: Raster
    /// The protocol (`kitty`, `sixel` or `iterm`).
    public var mode: GraphicsMode
    /// Identity of the content: equal keys mean equal pixels.
    public var key: String
    /// Pixel size of a cell (sixel, which the terminal does not scale, is enlarged to it).
    public var cellSize: CellSize

    /// A placement.
    public init(rect: Rect, raster: Raster, mode: GraphicsMode, key: String, cellSize: CellSize = .guess) {
        self.rect = rect
        self.raster = raster
        self.mode = mode
        self.key = key
        self.cellSize = cellSize
    }
}
