// The terminal seen by views: a grid of cells in, key/mouse/resize events out.
//
// Conventions: coordinates are (x = column, y = row), origin top-left, in character cells. Every
// cell holds exactly one single-width Unicode scalar. Colours are always 24-bit RGB here; the
// concrete screen maps them to what the terminal can show (direct colour or the 240-colour palette).
// Views draw a whole `CellBuffer` per frame; the screen diffs it against the last frame it showed, so
// drawing everything each time costs only the cells that changed.

/// A 24-bit colour.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    /// Red, green and blue, 0...255.
    public var r: UInt8
    /// Green component.
    public var g: UInt8
    /// Blue component.
    public var b: UInt8

    /// A colour from its three 8-bit components.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// A colour from `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
    }

    /// `0xRRGGBB`.
    public var hex: UInt32 { UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b) }

    /// `#RRGGBB`, as written in theme files.
    public var description: String {
        let digits = String(hex, radix: 16, uppercase: true)
        return "#" + String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// `self * (1 - alpha) + other * alpha`, per component; `alpha` in 0...1.
    public func blended(with other: RGB, alpha: Float) -> RGB {
        let a = max(0, min(1, alpha))
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Float(x) * (1 - a) + Float(y) * a).rounded()) }
        return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    /// Perceived brightness 0...255 (Rec. 601 weights), used to pick readable text on a colour.
    public var luma: Int { (299 * Int(r) + 587 * Int(g) + 114 * Int(b)) / 1000 }
}

/// Text attributes of a cell.
public struct CellAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellAttributes(rawValue: 1)
    public static let underline = CellAttributes(rawValue: 2)
    public static let reverse = CellAttributes(rawValue: 4)
    public static let dim = CellAttributes(rawValue: 8)
}

/// One character cell: a single-width scalar, its colours and attributes.
public struct Cell: Hashable, Sendable {
    /// The glyph (single-width).
    public var character: Unicode.Scalar
    /// Glyph colour.
    public var foreground: RGB
    /// Cell colour.
    public var background: RGB
    /// Bold, underline, reverse, dim.
    public var attributes: CellAttributes

    /// A cell; attributes default to none.
    public init(_ character: Unicode.Scalar, foreground: RGB, background: RGB, attributes: CellAttributes = []) {
        self.character = character
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }
}

/// Which glyphs a frame may use: full Unicode (half blocks, box lines) or plain ASCII.
public enum GlyphMode: Sendable {
    case unicode
    case ascii
}

/// A key press, decoded from whatever the terminal sent.
public enum Key: Hashable, Sendable {
    case character(Unicode.Scalar)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case tab, backTab, enter, escape, backspace
    /// Control plus a letter, e.g. `.control("l")` for Ctrl-L.
    case control(Unicode.Scalar)
}

/// A mouse report in cell coordinates.
public struct MouseEvent: Hashable, Sendable {
    /// What happened.
    public enum Kind: Hashable, Sendable {
        /// The left button went down.
        case click
        /// The pointer moved with the left button held.
        case drag
        case wheelUp, wheelDown
    }
    /// Click, drag or wheel.
    public var kind: Kind
    /// Column of the pointer.
    public var x: Int
    /// Row of the pointer.
    public var y: Int

    /// A mouse event at cell (x, y).
    public init(kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}

/// Something the user (or the terminal) did.
public enum InputEvent: Hashable, Sendable {
    case key(Key)
    case mouse(MouseEvent)
    /// The terminal now has this many columns and rows.
    case resize(columns: Int, rows: Int)
}

/// What views draw on and read input from. `CursesScreen` is the real terminal; `MemoryScreen`
/// keeps frames in memory for tests and benchmarks.
@MainActor
public protocol Screen: AnyObject {
    /// Current size in cells.
    var columns: Int { get }
    /// Current size in cells.
    var rows: Int { get }
    /// Whether frames may contain non-ASCII glyphs.
    var glyphMode: GlyphMode { get }
    /// Shows `frame` (which must match the current size), writing only the cells that differ from
    /// the frame shown last, then sends `images` that are not on the terminal yet (pixel protocols;
    /// screens without them ignore images). Returns the number of cells written.
    @discardableResult func present(_ frame: CellBuffer, images: [ImagePlacement]) -> Int
    /// Forgets what is on the terminal so the next `present` rewrites every cell.
    func invalidate()
    /// The next input event, waiting at most `timeoutMilliseconds` (0 = poll); nil when none came.
    func nextEvent(timeoutMilliseconds: Int) -> InputEvent?
}

extension Screen {
    /// Shows `frame` with no images.
    @discardableResult public func present(_ frame: CellBuffer) -> Int { present(frame, images: []) }
}
