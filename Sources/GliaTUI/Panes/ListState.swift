// Selection and scrolling of a list that shows `visibleRows` rows at a time; shared by the
// patient and slice lists. Indices refer to the list as displayed (after filter and sort).

/// Cursor and scroll offset of a scrolling list.
public struct ListState: Sendable, Equatable {
    /// Selected row, or 0 for an empty list.
    public private(set) var selected = 0
    /// First row shown.
    public private(set) var offset = 0
    /// Number of rows.
    public private(set) var count = 0

    /// An empty list.
    public init() {}

    /// Sets the number of rows, keeping the selection inside.
    public mutating func setCount(_ n: Int) {
        count = max(0, n)
        selected = max(0, min(selected, count - 1))
    }

    /// Moves the selection by `delta` rows, clamped.
    public mutating func move(by delta: Int) { select(selected + delta) }

    /// Selects row `index`, clamped.
    public mutating func select(_ index: Int) { selected = max(0, min(count - 1, index)) }

    /// Scrolls the view by `delta` rows without moving past the ends; the selection follows when
    /// it would leave the view.
    public mutating func scroll(by delta: Int, visibleRows: Int) {
        offset = max(0, min(max(0, count - visibleRows), offset + delta))
        if selected < offset { selected = offset }
        if selected >= offset + visibleRows { selected = max(0, offset + visibleRows - 1) }
    }

    /// Adjusts the offset so the selection is visible in a view of `visibleRows` rows.
    public mutating func reveal(visibleRows: Int) {
        let rows = max(1, visibleRows)
        if selected < offset { offset = selected }
        if selected >= offset + rows { offset = selected - rows + 1 }
        offset = max(0, min(offset, max(0, count - rows)))
    }
}
