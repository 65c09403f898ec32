// The workspace: one folder per run and one SQLite database with the history of every run.
//
// Layout
//   <workspace>/glia.sqlite           runs, per-step and per-epoch metrics (WAL: readers never block
//                                     the trainer, and a killed process loses no committed row)
//   <workspace>/runs/<run-id>/        configuration.json, split.json, best.safetensors, last.safetensors
// Run ids read as "<recipe>-<yyyyMMdd-HHmmss>", with "-2", "-3"... when two runs start in one second.
import Foundation
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
    case notADirectory(String)

    public var description: String {
        switch self {
        case .noSuchRun(let id): return "no run named '\(id)' in the workspace (see 'glia runs')"
        case .ambiguousRun(let id, let matches):
            return "run '\(id)' is ambiguous: \(matches.prefix(5).joined(separator: ", "))"
        case .notADirectory(let path): return "workspace path is not a directory: \(path)"
        }
    }
}

/// The workspace's runs: folders on disk plus their history in SQLite.
public final class RunStore: Sendable {
    /// The workspace folder.
    public let workspace: URL
    /// The database, shared with other stores of the workspace (triage decisions).
    public let database: DatabasePool

    /// The default workspace: `$GLIA_WORKSPACE`, else `$XDG_DATA_HOME/glia`, else `~/.local/share/glia`.
    public static func defaultWorkspace() -> URL {
        let env = ProcessInfo.processInfo.environment
        if let path = env["GLIA_WORKSPACE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("glia")
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".local/share/glia")
    }

    /// Opens (creating if needed) the workspace at `workspace`.
    public init(workspace: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: workspace.path, isDirectory: &isDirectory),
           !isDirectory.boolValue {
            throw RunStoreError.notADirectory(workspace.path)
        }
        try FileManager.default.createDirectory(
            at: workspace.appendingPathComponent("runs"), withIntermediateDirectories: true)
        self.workspace = workspace
        var config = Configuration()
        config.busyMode = .timeout(5)
        database = try DatabasePool(path: workspace.appendingPathComponent("glia.sqlite").path,
                                    configuration: config)
        try Self.migrator.migrate(database)
    }

    private static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("runs-v1") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("recipe", .text).notNull()
                t.column("status", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.column("configuration", .text).notNull()
                t.column("epochsDone", .integer).notNull().defaults(to: 0)
                t.column("bestEpoch", .integer)
                t.column("bestValidationLoss", .double)
                t.column("bestValidationMetric", .double)
                t.column("message", .text)
            }
            try db.create(table: "step") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("globalStep", .integer).notNull()
                t.column("epoch", .integer).notNull()
                t.column("loss", .double).notNull()
                t.column("metric", .double).notNull()
                t.column("imagesPerSecond", .double).notNull()
                t.column("learningRate", .double).notNull()
                t.primaryKey(["runID", "globalStep"])
            }
            try db.create(table: "epoch") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("trainLoss", .double).notNull()
                t.column("trainMetric", .double).notNull()
                t.column("validationLoss", .double).notNull()
                t.column("validationMetric", .double).notNull()
                t.column("learningRate", .double).notNull()
                t.column("seconds", .double).notNull()
                t.column("isBest", .boolean).notNull()
                t.primaryKey(["runID", "epoch"])
            }
        }
        return m
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
            let run = RunSummary(id: id, recipe: configuration.recipe.rawValue, status: RunStatus.running.rawValue,
                                 createdAt: now, finishedAt: nil, configuration: json, epochsDone: 0,
                                 bestEpoch: nil, bestValidationLoss: nil, bestValidationMetric: nil, message: nil)
            try run.insert(db)
            return run
        }
        let folder = self.folder(for: run.id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(Data(json.utf8), to: folder.appendingPathComponent("configuration.json"))
        return run
    }

    /// The folder of a run.
    public func folder(for runID: String) -> URL {
        workspace.appendingPathComponent("runs").appendingPathComponent(runID)
    }

    /// Every run, newest first.
    public func runs() throws -> [RunSummary] {
        try database.read { db in
            try RunSummary.order(Column("createdAt").desc, Column("id").desc).fetchAll(db)
        }
    }

    /// The run with this id, or the only run whose id starts with it.
    public func run(matching idOrPrefix: String) throws -> RunSummary {
        try database.read { db in
            if let exact = try RunSummary.fetchOne(db, key: idOrPrefix) { return exact }
            let matches = try RunSummary.filter(Column("id").like("\(idOrPrefix)%"))
                .order(Column("id")).fetchAll(db)
            guard let first = matches.first else { throw RunStoreError.noSuchRun(idOrPrefix) }
            guard matches.count == 1 else {
                throw RunStoreError.ambiguousRun(idOrPrefix, matches: matches.map(\.id))
            }
            return first
        }
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
                try db.execute(sql: "UPDATE run SET status = ?, finishedAt = NULL, message = NULL WHERE id = ?",
                               arguments: [RunStatus.running.rawValue, runID])
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
