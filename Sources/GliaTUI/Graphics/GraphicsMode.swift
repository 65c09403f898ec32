// How the viewer draws a slice: a terminal pixel protocol or one of the text modes.
//
// Text modes pack several image pixels into one character cell (two colours per cell, the glyph
// chooses which pixel gets which): sextants 2x3 (Unicode 13 "legacy computing" block), quadrants
// 2x2, half blocks 1x2, and an ASCII ramp for fonts without block elements. Pixel modes send the
// image itself: kitty's graphics protocol, sixel, or iTerm2's inline images.

/// A way to draw images on the terminal.
public enum GraphicsMode: String, CaseIterable, Sendable {
    case kitty, sixel, iterm, sextants, quadrants, blocks, ascii

    /// Whether the terminal draws the pixels (a graphics protocol) rather than character cells.
    public var isPixel: Bool { self == .kitty || self == .sixel || self == .iterm }

    /// Image pixels per cell across and down in a text mode (pixel modes: 1 x 1, unused).
    public var cellPixels: (columns: Int, rows: Int) {
        switch self {
        case .sextants: (2, 3)
        case .quadrants: (2, 2)
        case .blocks, .ascii: (1, 2)
        case .kitty, .sixel, .iterm: (1, 1)
        }
    }

    /// Name in the legend and the status bar.
    public var label: String {
        switch self {
        case .kitty: "kitty"
        case .sixel: "sixel"
        case .iterm: "iTerm2"
        case .sextants: "sextants"
        case .quadrants: "quadrants"
        case .blocks: "half blocks"
        case .ascii: "ASCII"
        }
    }

    /// The text modes, best first.
    public static let textModes: [GraphicsMode] = [.sextants, .quadrants, .blocks, .ascii]
}

/// What `--graphics` asks for: a fixed mode, or whatever the terminal is found to support.
public enum GraphicsRequest: Sendable, Equatable {
    case auto
    case mode(GraphicsMode)

    /// Parses `auto` or a mode name (`blocks` also as `halfblocks`); nil for anything else.
    public init?(argument: String) {
        let name = argument.lowercased()
        if name == "auto" {
            self = .auto
        } else if name == "halfblocks" || name == "half-blocks" {
            self = .mode(.blocks)
        } else if let mode = GraphicsMode(rawValue: name) {
            self = .mode(mode)
        } else {
            return nil
        }
    }

    /// The accepted values, for help and error messages.
    public static let choices = "auto|" + GraphicsMode.allCases.map(\.rawValue).joined(separator: "|")
}

/// Size of one character cell in pixels, as the terminal reports it (or a common guess).
public struct CellSize: Sendable, Equatable {
    /// Pixels across.
    public var width: Int
    /// Pixels down.
    public var height: Int

    /// A cell size; zero or negative values become 1.
    public init(width: Int, height: Int) {
        self.width = max(1, width)
        self.height = max(1, height)
    }

    /// What most terminals use at common font sizes, when nothing better is known.
    public static let guess = CellSize(width: 10, height: 20)
}
