// Triage decisions: one row per (patient, slice, model pair), written the moment the user decides,
// before the screen says "saved". WAL plus a synchronous commit means a kill -9 after the call returns
// loses nothing. The position of each model pair's session is stored the same way, so triage resumes
// where it stopped.
import Foundation
import GRDB

/// What the user decided about a prediction.
public enum TriageDecision: String, Codable, Sendable, CaseIterable {
    case accept, reject, flag
}

/// How good a predicted mask is, from "acceptable as is" to "wrong location / not visible".
public enum TriageRating: Int, Codable, Sendable, CaseIterable {
    case acceptable = 1
    case minorEdits = 2
    case majorEdits = 3
    case wrong = 4

    /// The wording shown to users and written to exports.
    public var label: String {
        switch self {
        case .acceptable: return "acceptable as is"
        case .minorEdits: return "minor corrections"
        case .majorEdits: return "major corrections"
        case .wrong: return "wrong location / not visible"
        }
    }

    /// A short form for narrow panels.
    public var shortLabel: String {
        switch self {
        case .acceptable: return "as is"
        case .minorEdits: return "minor fixes"
        case .majorEdits: return "major fixes"
        case .wrong: return "wrong / not seen"
        }
    }
}

/// One recorded decision.
public struct TriageRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "triage_decision"
    public var patientID: String
    public var sliceNumber: Int
    /// The model pair, "<classifier-run>+<segmenter-run>".
    public var modelRun: String
    public var decision: TriageDecision
    public var rating: TriageRating?
    public var note: String?
    public var decidedAt: Date

    public init(patientID: String, sliceNumber: Int, modelRun: String, decision: TriageDecision,
                rating: TriageRating? = nil, note: String? = nil, decidedAt: Date = Date()) {
        self.patientID = patientID
        self.sliceNumber = sliceNumber
        self.modelRun = modelRun
        self.decision = decision
        self.rating = rating
        self.note = note
        self.decidedAt = decidedAt
    }
}

/// Where a triage session stood.
public struct TriagePosition: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "triage_position"
    public var modelRun: String
    /// The slice order in use ("disagreement", "probability", "patient").
    public var ordering: String
    public var patientID: String
    public var sliceNumber: Int
    public var updatedAt: Date
    /// Whether the session walked only its queue (the default) or every slice.
    public var queueOnly: Bool

    public init(modelRun: String, ordering: String, patientID: String, sliceNumber: Int, updatedAt: Date = Date(),
                queueOnly: Bool = true) {
        self.modelRun = modelRun
        self.ordering = ordering
        self.patientID = patientID
        self.sliceNumber = sliceNumber
        self.updatedAt = updatedAt
        self.queueOnly = queueOnly
    }
}

/// Reads and writes triage decisions in a workspace.
public final class TriageStore: Sendable {
    public let workspace: Workspace

    public init(workspace: Workspace) {
        self.workspace = workspace
    }

    /// Saves (or replaces) the decision for one slice; returns once it is committed to disk.
    public func record(_ decision: TriageRecord) throws {
        try workspace.database.write { db in try decision.upsert(db) }
    }

    /// Every decision, optionally for one model pair, ordered by patient then slice.
    public func decisions(modelRun: String? = nil) throws -> [TriageRecord] {
        try workspace.database.read { db in
            var request = TriageRecord.order(Column("patientID"), Column("sliceNumber"), Column("modelRun"))
            if let modelRun { request = request.filter(Column("modelRun") == modelRun) }
            return try request.fetchAll(db)
        }
    }

    /// Saves where the session of `position.modelRun` stands.
    public func savePosition(_ position: TriagePosition) throws {
        try workspace.database.write { db in try position.upsert(db) }
    }

    /// The position saved most recently, over all model pairs: the session to reopen first.
    public func latestPosition() throws -> TriagePosition? {
        try workspace.database.read { db in
            try TriagePosition.order(Column("updatedAt").desc).fetchOne(db)
        }
    }

    /// Where the session of a model pair stopped, if it ever ran.
    public func position(modelRun: String) throws -> TriagePosition? {
        try workspace.database.read { db in try TriagePosition.fetchOne(db, key: modelRun) }
    }

    /// All decisions as CSV (RFC 4180): patient, slice, model run, decision, rating, note, time (ISO 8601 UTC),
    /// and `shipped_split`: the patient's tag in `shippedPatients` ("train" / "val" for patients the
    /// shipped models learnt from, see `ShippedModels.seenPatients`), empty for the others.
    public func exportCSV(modelRun: String? = nil, shippedPatients: [String: String] = [:]) throws -> String {
        let formatter = ISO8601DateFormatter()
        var lines = ["patient,slice,model_run,decision,rating,rating_label,note,time,shipped_split"]
        for r in try decisions(modelRun: modelRun) {
            let fields = [r.patientID, String(r.sliceNumber), r.modelRun, r.decision.rawValue,
                          r.rating.map { String($0.rawValue) } ?? "", r.rating?.label ?? "", r.note ?? "",
                          formatter.string(from: r.decidedAt), shippedPatients[r.patientID] ?? ""]
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
