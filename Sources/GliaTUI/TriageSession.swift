// A triage session: one model pair, the dataset's slices in a chosen order, a cursor, and the
// decisions made. Every decision and every cursor move goes straight to the `TriageStore`
// (SQLite, WAL); the status says "saved" only after the store returned, so what the screen shows
// as saved survives a kill -9. Opening the same pair again restores the order, the queue and the cursor.
//
// By default only the queue is walked: the slices a reader's hour is for (see `isQueued`). It
// starts with the slices the ground truth calls tumor and grows as predictions arrive; until the
// slice the cursor should be on is in it, the cursor waits at the nearest queued slice after it.
import Foundation
import GliaTraining

/// How triage walks the slices.
public enum TriageOrdering: String, CaseIterable, Sendable {
    /// Patient id, then slice number.
    case patient
    /// Highest predicted P(tumor) first; slices not predicted yet last.
    case probability
    /// Largest disagreement with the ground truth first (see `CachedPrediction.disagreement`).
    case disagreement

    /// Name shown in the status line.
    public var label: String {
        switch self {
        case .patient: "patient/slice"
        case .probability: "probability"
        case .disagreement: "disagreement"
        }
    }
}

/// The state of one triage session (main-thread only).
public struct TriageSession: Sendable {
    /// "<classifier-run>+<segmenter-run>", the key of decisions and position in the store.
    public let modelRun: String
    /// Every slice of the dataset, patient then slice number.
    public let slices: [SliceKey]
    /// The current order.
    public private(set) var ordering = TriageOrdering.patient
    /// `slices` in the current order.
    public private(set) var order: [SliceKey]
    /// Cursor in `order`.
    public private(set) var index = 0
    /// Decisions made for this pair, by slice.
    public private(set) var decisions: [SliceKey: TriageRecord] = [:]
    /// Rating chosen for the current slice before a decision was made (saved with it).
    public private(set) var pendingRating: TriageRating?
    /// Whether only the queue is walked (the default; `toggleQueue`); every slice otherwise.
    public private(set) var queueOnly = true
    /// Note written for the current slice before a decision was made (saved with it).
    public private(set) var pendingNote: String?
    /// The outcome of the last write, shown in the status line.
    public private(set) var status: (text: String, isError: Bool)?
    /// Slices the ground truth calls tumor: in the queue before any prediction arrives.
    public let truthTumor: Set<SliceKey>
    /// Where the cursor should be (the slice last shown, or the one resumed at) while the walked
    /// order does not hold it.
    public private(set) var anchor: SliceKey?
    private let position: [SliceKey: Int]
    private let store: TriageStore

    /// Opens the session of `modelRun` over `slices`, reading earlier decisions and the position.
    /// `predictions` orders the slices when the stored position used a prediction-based order and,
    /// with `truthTumor`, fills the queue.
    public init(modelRun: String, slices: [SliceKey], store: TriageStore, predictions: [SliceKey: CachedPrediction] = [:],
                truthTumor: Set<SliceKey> = []) throws {
        self.modelRun = modelRun
        self.slices = slices
        self.store = store
        self.truthTumor = truthTumor
        position = Dictionary(slices.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        order = slices
        anchor = slices.first
        for record in try store.decisions(modelRun: modelRun) {
            decisions[SliceKey(patient: record.patientID, slice: record.sliceNumber)] = record
        }
        if let saved = try store.position(modelRun: modelRun) {
            ordering = TriageOrdering(rawValue: saved.ordering) ?? .patient
            queueOnly = saved.queueOnly
            anchor = SliceKey(patient: saved.patientID, slice: saved.sliceNumber)
            status = ("resumed at \(saved.patientID) slice \(saved.sliceNumber)", false)
        }
        index = 0
        rearrange(predictions: predictions)
    }

    /// The slice under the cursor.
    public var current: SliceKey? { order.indices.contains(index) ? order[index] : nil }
    /// The decision for the current slice, if any.
    public var currentDecision: TriageRecord? { current.flatMap { decisions[$0] } }

    /// Moves the cursor and saves the position.
    public mutating func move(by delta: Int) {
        guard !order.isEmpty else { return }
        let next = max(0, min(order.count - 1, index + delta))
        guard next != index else { return }
        index = next
        anchor = current
        pendingRating = nil
        pendingNote = nil
        status = nil
        savePosition()
    }

    /// Moves to the first slice of the order, or with `last` to the last.
    public mutating func moveToEnd(last: Bool) { move(by: last ? order.count : -index) }

    /// The note of the current slice: its saved note, or the one waiting for a decision.
    public var noteShown: String? { pendingNote ?? currentDecision?.note }

    /// Moves to the next slice without a decision after the cursor (wrapping); false when every slice has one.
    @discardableResult
    public mutating func moveToNextUndecided() -> Bool {
        guard !order.isEmpty else { return false }
        for step in 1...order.count {
            let i = (index + step) % order.count
            if decisions[order[i]] == nil {
                move(by: i - index)
                return true
            }
        }
        return false
    }

    /// Switches to the next ordering, keeping the current slice under the cursor.
    public mutating func cycleOrdering(predictions: [SliceKey: CachedPrediction]) {
        let all = TriageOrdering.allCases
        ordering = all[(all.firstIndex(of: ordering)! + 1) % all.count]
        rearrange(predictions: predictions)
        savePosition()
    }

    /// Walks only the queue (see `isQueued`), or every slice again; saved with the position.
    public mutating func toggleQueue(predictions: [SliceKey: CachedPrediction]) {
        queueOnly.toggle()
        rearrange(predictions: predictions)
        savePosition()
    }

    /// Keeps the cursor on the current slice when the order changes (the reader started working on it).
    public mutating func pin() { anchor = current ?? anchor }

    /// Moves the cursor to `key` when the walked order holds it; false otherwise.
    @discardableResult
    public mutating func jump(to key: SliceKey) -> Bool {
        guard let i = order.firstIndex(of: key) else { return false }
        move(by: i - index)
        pin()
        return true
    }

    /// Adds the slices whose predictions arrived since to the queue; true when the order changed.
    @discardableResult
    public mutating func refreshQueue(predictions: [SliceKey: CachedPrediction]) -> Bool {
        guard queueOnly else { return false }
        let before = order
        rearrange(predictions: predictions)
        return order != before
    }

    /// Whether a prediction puts its slice in the reader's queue: the models call it tumor, or the
    /// truth does (so truth and prediction disagree, or both say tumor). Slices where all agree
    /// there is nothing stay out.
    public static func isQueued(_ p: CachedPrediction) -> Bool {
        (p.flagged && p.probability != nil) || p.predictedArea > 0 || (p.truthArea ?? 0) > 0
    }

    /// Whether `key` is in the queue: the truth calls it tumor, or its prediction is queued.
    public func isQueued(_ key: SliceKey, predictions: [SliceKey: CachedPrediction]) -> Bool {
        truthTumor.contains(key) || predictions[key].map(Self.isQueued) ?? false
    }

    /// Counts over the slices walked: how many have no decision yet and how many of each decision.
    public var counts: (toDo: Int, accepted: Int, rejected: Int, flagged: Int) {
        var c = (toDo: 0, accepted: 0, rejected: 0, flagged: 0)
        for key in order {
            switch decisions[key]?.decision {
            case nil: c.toDo += 1
            case .accept: c.accepted += 1
            case .reject: c.rejected += 1
            case .flag: c.flagged += 1
            }
        }
        return c
    }

    /// Recomputes `order` from the ordering and the queue, keeping the anchor under the cursor;
    /// when the order lacks it, the cursor goes to the first slice after it in patient order (else
    /// the last), and the anchor stays, so the cursor takes it once it arrives.
    private mutating func rearrange(predictions: [SliceKey: CachedPrediction]) {
        let keep = anchor ?? current
        let walked = queueOnly ? slices.filter { isQueued($0, predictions: predictions) } : slices
        order = Self.sorted(walked, by: ordering, predictions: predictions)
        if let keep, let i = order.firstIndex(of: keep) {
            index = i
        } else {
            let target = keep.flatMap { position[$0] } ?? 0
            index = order.firstIndex { (position[$0] ?? 0) >= target } ?? max(0, order.count - 1)
        }
    }

    /// `slices` in `ordering`; slices without a prediction keep patient order after the others.
    public static func sorted(_ slices: [SliceKey], by ordering: TriageOrdering, predictions: [SliceKey: CachedPrediction]) -> [SliceKey] {
        func score(_ key: SliceKey) -> Double? {
            switch ordering {
            case .patient: return nil
            case .probability: return predictions[key]?.probability.map(Double.init)
            case .disagreement: return predictions[key]?.disagreement
            }
        }
        guard ordering != .patient else { return slices }
        let scored = slices.map { ($0, score($0)) }
        let known = scored.filter { $0.1 != nil }.sorted { ($0.1!, $1.0) > ($1.1!, $0.0) }.map(\.0)
        return known + scored.filter { $0.1 == nil }.map(\.0)
    }

    /// Records `decision` for the current slice, keeping its rating and note (or those given before
    /// the decision); with `advance`, then moves to the next slice, the saved status still shown.
    public mutating func decide(_ decision: TriageDecision, advance: Bool = false, now: Date = Date()) {
        guard let key = current else { return }
        pin()
        let earlier = decisions[key]
        let saved = write(TriageRecord(patientID: key.patient, sliceNumber: key.slice, modelRun: modelRun, decision: decision,
                                       rating: pendingRating ?? earlier?.rating, note: pendingNote ?? earlier?.note, decidedAt: now))
        guard advance, saved, index + 1 < order.count else { return }
        let kept = status
        move(by: 1)
        status = kept
    }

    /// Sets the rating of the current slice; saved at once when the slice already has a decision.
    public mutating func rate(_ rating: TriageRating, now: Date = Date()) {
        guard let key = current else { return }
        pin()
        guard var record = decisions[key] else {
            pendingRating = rating
            status = ("rating \(rating.rawValue) (\(rating.label)): press a, r or f to save it", false)
            return
        }
        record.rating = rating
        record.decidedAt = now
        write(record)
    }

    /// Sets the note of the current slice (empty clears it); before a decision it is kept and saved
    /// with the decision.
    public mutating func setNote(_ note: String, now: Date = Date()) {
        guard let key = current else { return }
        pin()
        guard var record = decisions[key] else {
            pendingNote = note.isEmpty ? nil : note
            status = note.isEmpty ? nil : ("note kept: press a, r or f to save it with a decision", false)
            return
        }
        record.note = note.isEmpty ? nil : note
        record.decidedAt = now
        write(record)
    }

    @discardableResult
    private mutating func write(_ record: TriageRecord) -> Bool {
        do {
            try store.record(record)
            decisions[SliceKey(patient: record.patientID, slice: record.sliceNumber)] = record
            pendingRating = nil
            pendingNote = nil
            let time = Self.clock.string(from: record.decidedAt)
            status = ("saved \(record.decision.rawValue), slice \(record.sliceNumber), \(time)", false)
            return true
        } catch {
            status = ("NOT saved: \(error)", true)
            return false
        }
    }

    private mutating func savePosition() {
        guard let key = current else { return }
        do {
            try store.savePosition(TriagePosition(modelRun: modelRun, ordering: ordering.rawValue,
                                                  patientID: key.patient, sliceNumber: key.slice, queueOnly: queueOnly))
        } catch {
            status = ("position not saved: \(error)", true)
        }
    }

    private static let clock: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "HH:mm:ss"
        return f
    }()
}
