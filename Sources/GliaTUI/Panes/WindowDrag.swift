// Window/level by mouse drag, the ITK-SNAP and 3D Slicer habit: from the press, each column to the
// right widens the window by 6% (to the left narrows it), each row down raises the level by 4 (up
// lowers it). The window scales rather than adds so that a narrow window is fine-tuned as easily as
// a wide one; rows are fewer and taller than columns, hence the larger step. Values are computed
// from the press, not accumulated per event, so a drag back to the start restores the view exactly.
import Foundation

/// A drag under way: where it began and the window/level at that moment.
public struct WindowDrag: Equatable, Sendable {
    /// Cell of the press.
    public let x: Int
    /// Row of the press.
    public let y: Int
    /// Window when the drag began.
    public let window: Double
    /// Level when the drag began.
    public let level: Double
    /// The readout cursor before the press (which, as a click, moved it).
    public let cursorBefore: ImagePoint?

    /// Window factor per column moved.
    public static let windowStep = 1.06
    /// Level change per row moved.
    public static let levelStep = 4.0

    /// A drag begun at cell (x, y).
    public init(x: Int, y: Int, window: Double, level: Double, cursorBefore: ImagePoint?) {
        self.x = x
        self.y = y
        self.window = window
        self.level = level
        self.cursorBefore = cursorBefore
    }

    /// Window and level with the pointer at cell (x, y), kept in the ranges the keys keep them in.
    public func windowLevel(x toX: Int, y toY: Int) -> (window: Double, level: Double) {
        let window = window * pow(Self.windowStep, Double(toX - x))
        let level = level + Self.levelStep * Double(toY - y)
        return (min(510, max(8, window)), min(255, max(0, level)))
    }
}
