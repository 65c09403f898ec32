// The list of a triage session's walk (its queue, or every slice), drawn in place of the image: one
// row per slice with what the models said and what the reader decided, so a reader sees how much
// of the hour is left and where the disagreements are, and jumps to any of them with Enter.
//
// The selection is kept by slice, not by row: the queue grows while the list is open, and the row
// under the cursor must stay the slice it was.

/// Selection of the queue list.
public struct TriageQueueList: Sendable, Equatable {
    /// Cursor and scroll over the session's order.
    public private(set) var state = ListState()
    /// The slice under the cursor.
    public private(set) var selected: SliceKey?

    /// A list over `order` with the cursor on `current`.
    public init(order: [SliceKey], current: SliceKey?) {
        selected = current
        follow(order)
    }

    /// Re-finds the selected slice in `order` (which may have grown).
    public mutating func follow(_ order: [SliceKey]) {
        state.setCount(order.count)
        if let selected, let i = order.firstIndex(of: selected) { state.select(i) }
        selected = order.indices.contains(state.selected) ? order[state.selected] : nil
    }

    /// Moves the cursor by `delta` rows of `order`, clamped.
    public mutating func move(by delta: Int, in order: [SliceKey]) {
        follow(order)
        state.move(by: delta)
        selected = order.indices.contains(state.selected) ? order[state.selected] : nil
    }

    /// A column of the list.
    private enum Column: CaseIterable {
        case patient, slice, probability, decision, truth, predicted, dice, rating

        var title: String {
            switch self {
            case .patient: "Patient"
            case .slice: "Slice"
            case .probability: "P(tumor)"
            case .decision: "Decision"
            case .truth: "Truth"
            case .predicted: "Pred"
            case .dice: "Dice"
            case .rating: "Rating"
            }
        }

        var width: Int {
            switch self {
            case .patient: 7
            case .slice, .truth, .predicted, .dice: 5
            case .probability, .decision: 8
            case .rating: 6
            }
        }
    }

    /// The columns that fit `width` cells, in display order: patient, slice, P(tumor) and decision
    /// always; truth, predicted area, Dice and rating as room allows; the patient id takes the rest
    /// (cut at the right, where a TCGA id has its date).
    private static func layout(width: Int, longestID: Int) -> [(column: Column, list: ListColumn)] {
        let fixed = [Column.patient, .slice, .probability, .decision].reduce(0) { $0 + $1.width + 1 }
        var room = width - 1 - fixed
        var shown: Set<Column> = [.patient, .slice, .probability, .decision]
        for column in [Column.truth, .predicted, .dice, .rating] where room >= column.width + 1 {
            shown.insert(column)
            room -= column.width + 1
        }
        let idWidth = max(Column.patient.width, min(longestID, Column.patient.width + room))
        let ordered: [Column] = [.patient, .slice, .probability, .dice, .truth, .predicted, .decision, .rating]
        return ordered.filter(shown.contains).map { c in
            (c, ListColumn(title: c.title, width: c == .patient ? idWidth : c.width, alignRight: ![.patient, .decision, .rating].contains(c)))
        }
    }

    /// `id` if it fits in `width`, else without its last "_" part (a TCGA id's scan date:
    /// "TCGA_CS_4941_19960909" becomes "TCGA_CS_4941", which still names the patient), else cut.
    static func patientLabel(_ id: String, width: Int) -> String {
        guard id.count > width else { return id }
        if let cut = id.lastIndex(of: "_"), id.distance(from: id.startIndex, to: cut) <= width, cut > id.startIndex {
            return String(id[..<cut])
        }
        return String(id.prefix(width))
    }

    /// Draws the list of `session`'s order with `predictions` into `rect`.
    mutating func draw(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle, session: TriageSession,
                       predictions: [SliceKey: CachedPrediction]) {
        follow(session.order)
        let theme = style.theme
        let dash = style.glyphs == .unicode ? "·" : "-"
        let layout = Self.layout(width: rect.width - 2, longestID: session.order.map(\.patient.count).max() ?? 7)
        let counts = session.counts
        let title = (session.queueOnly ? "Queue" : "All slices") + " \(session.order.isEmpty ? 0 : state.selected + 1)/\(session.order.count)"
            + "  \(counts.toDo) to do"
        let order = session.order, decisions = session.decisions, truthTumor = session.truthTumor
        drawList(into: &buffer, rect: rect, title: title, columns: layout.map(\.list), state: &state, focused: true, style: style) { row in
            let key = order[row]
            let p = predictions[key], decision = decisions[key]
            func area(_ value: Int?) -> (String, RGB?) { value.map { ($0 > 0 ? "\($0)" : dash, $0 > 0 ? nil : theme.muted) } ?? (dash, theme.muted) }
            let decisionColor: RGB? = switch decision?.decision {
            case .accept: theme.focus
            case .reject: theme.error
            case .flag: theme.accent
            case nil: theme.muted
            }
            return layout.map { column -> (String, RGB?) in
                switch column.column {
                case .patient: (Self.patientLabel(key.patient, width: column.list.width), nil)
                case .slice: ("\(key.slice)", nil)
                case .probability:
                    (p?.probability.map { BrowserPane.probabilityText(Double($0)) } ?? dash, p?.flagged == true ? theme.tumor : theme.muted)
                case .dice: (p?.dice.map { BrowserPane.probabilityText($0) } ?? dash, nil)
                // Before its prediction arrives, a queued slice's truth is known only as "tumor".
                case .truth: p == nil && truthTumor.contains(key) ? ("yes", theme.tumor) : area(p?.truthArea)
                case .predicted: area(p.map(\.predictedArea))
                case .decision: (decision?.decision.rawValue ?? dash, decisionColor)
                case .rating: (decision?.rating.map { "\($0.rawValue)" } ?? dash, nil)
                }
            }
        }
    }
}
