// An in-memory screen: keeps the frame it was shown and replays queued input. Used by unit tests
// (assert cells and colours) and by `glia bench viewer` (diff cost without a terminal).

/// A `Screen` that lives in memory.
@MainActor
public final class MemoryScreen: Screen {
    public private(set) var columns: Int
    public private(set) var rows: Int
    public let glyphMode: GlyphMode
    /// The frame as the "terminal" shows it now (nil before the first `present`).
    public private(set) var shown: CellBuffer?
    /// The images of the last `present`.
    public private(set) var images: [ImagePlacement] = []
    /// Events `nextEvent` hands out, first in first out.
    public var pendingEvents: [InputEvent] = []

    /// A screen of the given size.
    public init(columns: Int, rows: Int, glyphMode: GlyphMode = .unicode) {
        self.columns = columns
        self.rows = rows
        self.glyphMode = glyphMode
    }

    /// Changes the size and queues the matching resize event, as a terminal would.
    public func resize(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
        shown = nil
        pendingEvents.append(.resize(columns: columns, rows: rows))
    }

    @discardableResult
    public func present(_ frame: CellBuffer, images: [ImagePlacement]) -> Int {
        self.images = images
        guard let old = shown, old.columns == frame.columns, old.rows == frame.rows else {
            shown = frame
            return frame.cells.count
        }
        var written = 0
        for i in 0..<frame.cells.count where frame.cells[i] != old.cells[i] { written += 1 }
        shown = frame
        return written
    }

    public func invalidate() { shown = nil }

    public func nextEvent(timeoutMilliseconds: Int) -> InputEvent? {
        pendingEvents.isEmpty ? nil : pendingEvents.removeFirst()
    }
}
