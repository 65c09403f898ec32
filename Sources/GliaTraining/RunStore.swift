// Runs: one folder per run in the workspace and the history of every run in its database
// (tables run, step, epoch; see Workspace.swift for the layout).
// Run ids read as "<recipe>-<yyyyMMdd-HHmmss>", with "-2", "-3"... when two runs start in one second.
import Foundation
import GliaCore
import GRDB

/// A run as listed by `glia runs`.
public struct RunSummary: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "run"
    public var id: String
    public var recipe: String
    public var status: String
    public var createdAt: Date
    public var finishedAt: Date?
    /// JSON of the run's `RunConfiguration`.
    public var configuration: String
    public var epochsDone: Int
    public var bestEpoch: Int?
    public var bestValidationLoss: Double?
    public var bestValidationMetric: Double?
    /// Why the run failed, if it did.
    public var message: String?
    /// Process and host that last ran it, to tell a live run from a killed one.
    public var pid: Int?
    public var host: String?
    /// Slices the run leaves out because they do not decode (see its `sliceSkipped` events).
    public var skippedSlices: Int = 0

    /// This process on this host.
    static var currentOwner: (pid: Int, host: String) {
        (Int(getpid()), ProcessInfo.processInfo.hostName)
    }

    /// The status, with a run marked running or paused whose process on this host has gone shown as
    /// interrupted. (A run owned by another host is trusted as stored.)
    var observedStatus: String {
        guard status == RunStatus.running.rawValue || status == RunStatus.paused.rawValue,
              let pid, host == Self.currentOwner.host else { return status }
        return kill(pid_t(pid), 0) == 0 || errno == EPERM ? status : RunStatus.interrupted.rawValue
    }

    /// This summary with `observedStatus` as its status.
    var observed: RunSummary {
        var copy = self
        copy.status = observedStatus
        return copy
    }

    /// The decoded configuration.
    public func decodedConfiguration() throws -> RunConfiguration {
        try JSONDecoder().decode(RunConfiguration.self, from: Data(configuration.utf8))
    }
}

/// One stored optimisation step.
public struct StepRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "step"
    public var runID: String
    public var globalStep: Int
    public var epoch: Int
    public var loss: Double
    public var metric: Double
    public var imagesPerSecond: Double
    public var learningRate: Double
}

/// One stored epoch summary.
public struct EpochRow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "epoch"
    public var runID: String
    public var epoch: Int
    public var trainLoss: Double
    public var trainMetric: Double
    public var validationLoss: Double
    public var validationMetric: Double
    public var learningRate: Double
    public var seconds: Double
    public var isBest: Bool
}

/// Errors of the run store, each naming the run or path concerned.
public enum RunStoreError: Error, CustomStringConvertible, Equatable {
    case noSuchRun(String)
    case ambiguousRun(String, matches: [String])

    public var description: String {
        switch self {
        case .noSuchRun(let id): return "no run named '\(id)' in the workspace (see 'glia runs')"
        case .ambiguousRun(let id, let matches):
            return "run '\(id)' is ambiguous: \(matches.prefix(5).joined(separator: ", "))"
        }
    }
}

/// The workspace's runs: folders on disk plus their history in SQLite.
public final class RunStore: Sendable {
    /// The workspace holding the runs.
    public let workspace: Workspace
    private var database: DatabasePool { workspace.database }

    /// The run store of `workspace`.
    public init(workspace: Workspace) {
        self.workspace = workspace
    }

    /// Opens (creating if needed) the workspace at `url` and its run store.
    public convenience init(workspace url: URL) throws {
        self.init(workspace: try Workspace(url: url))
    }

    // MARK: Runs

    /// Creates a run: its folder, `configuration.json`, and its row (status running).
    public func createRun(_ configuration: RunConfiguration, now: Date = Date()) throws -> RunSummary {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let base = "\(configuration.recipe.rawValue)-\(formatter.string(from: now))"
        let json = String(decoding: try Self.encoder.encode(configuration), as: UTF8.self)
        let run = try database.write { db -> RunSummary in
            var id = base
            var n = 2
            while try RunSummary.fetchOne(db, key: id) != nil {
                id = "\(base)-\(n)"
                n += 1
            }
            let owner = RunSummary.currentOwner
            let run = RunSummary(id: id, recipe: configuration.recipe.rawValue, status: RunStatus.running.rawValue,
                                 createdAt: now, finishedAt: nil, configuration: json, epochsDone: 0,
                                 bestEpoch: nil, bestValidationLoss: nil, bestValidationMetric: nil, message: nil,
                                 pid: owner.pid, host: owner.host)
            try run.insert(db)
            return run
        }
        let folder = self.folder(for: run.id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(Data(json.utf8), to: folder.appendingPathComponent("configuration.json"))
        return run
    }

    /// Removes a run that never trained (its data could not be prepared): its row, history and folder.
    public func deleteRun(_ runID: String) throws {
        _ = try database.write { db in try RunSummary.deleteOne(db, key: runID) }
        try? FileManager.default.removeItem(at: folder(for: runID))
    }

    /// The folder of a run.
    public func folder(for runID: String) -> URL {
        workspace.url.appendingPathComponent("runs").appendingPathComponent(runID)
    }

    /// Every run, newest first; killed runs read as interrupted.
    public func runs() throws -> [RunSummary] {
        try database.read { db in
            try RunSummary.order(Column("createdAt").desc, Column("id").desc).fetchAll(db)
        }.map(\.observed)
    }

    /// The run with this id, or the only run whose id starts with it (a killed run reads as interrupted).
    public func run(matching idOrPrefix: String) throws -> RunSummary {
        try database.read { db -> RunSummary in
            if let exact = try RunSummary.fetchOne(db, key: idOrPrefix) { return exact }
            // A plain prefix comparison, not LIKE: LIKE reads `%` and `_` in the user's text as wildcards
            // (so `--resume _` matched every run) and folds ASCII case.
            let matches = try RunSummary
                .filter(sql: "substr(id, 1, length(?)) = ?", arguments: [idOrPrefix, idOrPrefix])
                .order(Column("id")).fetchAll(db)
            guard let first = matches.first else { throw RunStoreError.noSuchRun(idOrPrefix) }
            guard matches.count == 1 else {
                throw RunStoreError.ambiguousRun(idOrPrefix, matches: matches.map(\.id))
            }
            return first
        }.observed
    }

    /// Per-step history of a run, in order.
    public func steps(of runID: String) throws -> [StepRow] {
        try database.read { db in
            try StepRow.filter(Column("runID") == runID).order(Column("globalStep")).fetchAll(db)
        }
    }

    /// Per-epoch history of a run, in order.
    public func epochs(of runID: String) throws -> [EpochRow] {
        try database.read { db in
            try EpochRow.filter(Column("runID") == runID).order(Column("epoch")).fetchAll(db)
        }
    }

    // MARK: Recording events

    /// Writes what an event changes in the history. Steps and epochs are upserted, so a resumed run
    /// overwrites the rows of the epoch it repeats.
    public func record(_ event: TrainingEvent, runID: String, now: Date = Date()) throws {
        try database.write { db in
            switch event {
            case .runStarted:
                let owner = RunSummary.currentOwner
                // The skipped slices are announced again by every start and resume, so the count restarts.
                try db.execute(sql: "UPDATE run SET status = ?, finishedAt = NULL, message = NULL, pid = ?, host = ?, skippedSlices = 0 WHERE id = ?",
                               arguments: [RunStatus.running.rawValue, owner.pid, owner.host, runID])
            case .step(let s):
                try StepRow(runID: runID, globalStep: s.globalStep, epoch: s.epoch, loss: Double(s.loss),
                            metric: Double(s.metric), imagesPerSecond: s.imagesPerSecond,
                            learningRate: Double(s.learningRate)).upsert(db)
            case .epoch(let e):
                try EpochRow(runID: runID, epoch: e.epoch, trainLoss: Double(e.trainLoss),
                             trainMetric: Double(e.trainMetric), validationLoss: Double(e.validationLoss),
                             validationMetric: Double(e.validationMetric), learningRate: Double(e.learningRate),
                             seconds: e.seconds, isBest: e.isBest).upsert(db)
                try db.execute(sql: "DELETE FROM step WHERE runID = ? AND epoch > ?", arguments: [runID, e.epoch])
                try db.execute(sql: "UPDATE run SET epochsDone = ? WHERE id = ?", arguments: [e.epoch, runID])
                if e.isBest {
                    try db.execute(
                        sql: "UPDATE run SET bestEpoch = ?, bestValidationLoss = ?, bestValidationMetric = ? WHERE id = ?",
                        arguments: [e.epoch, Double(e.validationLoss), Double(e.validationMetric), runID])
                }
            case .sliceSkipped:
                try db.execute(sql: "UPDATE run SET skippedSlices = skippedSlices + 1 WHERE id = ?", arguments: [runID])
            case .paused:
                try setStatus(.paused, runID: runID, db: db)
            case .resumed:
                try setStatus(.running, runID: runID, db: db)
            case .checkpointSaved, .earlyStopped:
                break
            case .finished(let status, _, _):
                try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ? WHERE id = ?",
                               arguments: [status.rawValue, now, runID])
            case .failed(let message):
                try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ?, message = ? WHERE id = ?",
                               arguments: [RunStatus.failed.rawValue, now, message, runID])
            }
        }
    }

    private func setStatus(_ status: RunStatus, runID: String, db: Database) throws {
        try db.execute(sql: "UPDATE run SET status = ? WHERE id = ?", arguments: [status.rawValue, runID])
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()
}
