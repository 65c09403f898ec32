// What the terminal was found to draw, decided once at start (see `GraphicsDetector`), and the
// modes the viewer's graphics key cycles through.

/// The graphics modes usable on this terminal and the one to start in.
public struct GraphicsSupport: Sendable, Equatable {
    /// Pixel protocols that reach the terminal, best first (empty: text modes only).
    public var pixelModes: [GraphicsMode]
    /// The mode to start in.
    public var mode: GraphicsMode
    /// Pixel size of a cell.
    public var cellSize: CellSize
    /// Whether output passes through tmux (pixel protocols are then wrapped for passthrough).
    public var tmux: Bool
    /// Said in the status bar at start: why a pixel mode asked for is not used, for instance.
    public var note: String?

    /// A support description.
    public init(pixelModes: [GraphicsMode], mode: GraphicsMode, cellSize: CellSize = .guess, tmux: Bool = false, note: String? = nil) {
        self.pixelModes = pixelModes
        self.mode = mode
        self.cellSize = cellSize
        self.tmux = tmux
        self.note = note
    }

    /// Half blocks, no pixel protocol: what a terminal nothing is known about gets.
    public static let textOnly = GraphicsSupport(pixelModes: [], mode: .blocks)

    /// The modes the graphics key cycles through: the pixel protocols, then every text mode
    /// (ASCII alone when the screen cannot show Unicode).
    public func cycle(glyphs: GlyphMode) -> [GraphicsMode] {
        glyphs == .ascii ? [.ascii] : pixelModes + GraphicsMode.textModes
    }

    /// The mode after `current` in the cycle.
    public func next(after current: GraphicsMode, glyphs: GlyphMode) -> GraphicsMode {
        let modes = cycle(glyphs: glyphs)
        guard let i = modes.firstIndex(of: current) else { return modes[0] }
        return modes[(i + 1) % modes.count]
    }
}
