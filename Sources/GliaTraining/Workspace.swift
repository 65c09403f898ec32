// The workspace: where runs and triage decisions live.
//
// Layout
//   <workspace>/glia.sqlite        one SQLite database in WAL mode: run history (run, step, epoch) and
//                                  triage (triage_decision, triage_position). WAL lets the trainer
//                                  write while the workstation reads, and a killed process loses no
//                                  committed row.
//   <workspace>/runs/<run-id>/     configuration.json, split.json, best.safetensors, last.safetensors
// A run row records the pid and host that last ran it, so a killed run reads as "interrupted".
// All schema changes are migrations registered here, so every store sees one schema.
import Foundation
import GRDB

/// Errors opening a workspace.
public enum WorkspaceError: Error, CustomStringConvertible, Equatable {
    case notADirectory(String)

    public var description: String {
        switch self {
        case .notADirectory(let path): return "workspace path is not a directory: \(path)"
        }
    }
}

/// A workspace folder and its database.
public final class Workspace: Sendable {
    /// The workspace folder.
    public let url: URL
    /// The shared database (WAL).
    public let database: DatabasePool
    /// The private copy `database` reads when the workspace could not be written (see `openForReading`).
    private let snapshot: URL?

    /// The default workspace: `$GLIA_WORKSPACE`, else `$XDG_DATA_HOME/glia`, else `~/.local/share/glia`.
    public static func defaultURL() -> URL {
        let env = ProcessInfo.processInfo.environment
        if let path = env["GLIA_WORKSPACE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("glia")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/glia")
    }

    /// Opens the workspace at `url`, creating the folder and database if needed.
    public convenience init(url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw WorkspaceError.notADirectory(url.path)
        }
        try FileManager.default.createDirectory(at: url.appendingPathComponent("runs"),
                                                withIntermediateDirectories: true)
        try self.init(url: url, databasePath: url.appendingPathComponent("glia.sqlite").path, snapshot: nil)
    }

    private init(url: URL, databasePath: String, snapshot: URL?) throws {
        self.url = url
        self.snapshot = snapshot
        var config = Configuration()
        config.busyMode = .timeout(5)
        database = try DatabasePool(path: databasePath, configuration: config)
        try Self.migrator.migrate(database)
    }

    deinit {
        if let snapshot { try? FileManager.default.removeItem(at: snapshot) }
    }

    /// Opens the workspace at `url` for commands that only read it (runs, eval, predict, export).
    /// SQLite must write beside a WAL database even to read it (its -shm index, and migrations), so
    /// on a folder or database this user cannot write, the database (with its -wal) is copied to a
    /// private temporary folder and read there; run folders are still read in place.
    public static func openForReading(url: URL) throws -> Workspace {
        let database = url.appendingPathComponent("glia.sqlite")
        let fm = FileManager.default
        let writable = access(url.path, W_OK) == 0
            && (!fm.fileExists(atPath: database.path) || access(database.path, W_OK) == 0)
        guard !writable, fm.fileExists(atPath: database.path) else { return try Workspace(url: url) }
        let copy = fm.temporaryDirectory.appendingPathComponent("glia-workspace-\(UUID().uuidString)")
        try fm.createDirectory(at: copy, withIntermediateDirectories: true)
        for suffix in ["", "-wal"] where fm.fileExists(atPath: database.path + suffix) {
            let target = copy.appendingPathComponent("glia.sqlite" + suffix).path
            try fm.copyItem(atPath: database.path + suffix, toPath: target)
            chmod(target, 0o600)  // the copy keeps the original's read-only mode; SQLite must write it
        }
        do {
            return try Workspace(url: url, databasePath: copy.appendingPathComponent("glia.sqlite").path, snapshot: copy)
        } catch {
            try? fm.removeItem(at: copy)
            throw error
        }
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
        m.registerMigration("triage-v1") { db in
            try db.create(table: "triage_decision") { t in
                t.column("patientID", .text).notNull()
                t.column("sliceNumber", .integer).notNull()
                t.column("modelRun", .text).notNull()
                t.column("decision", .text).notNull()
                t.column("rating", .integer)
                t.column("note", .text)
                t.column("decidedAt", .datetime).notNull()
                t.primaryKey(["patientID", "sliceNumber", "modelRun"])
            }
            try db.create(table: "triage_position") { t in
                t.primaryKey("modelRun", .text)
                t.column("ordering", .text).notNull()
                t.column("patientID", .text).notNull()
                t.column("sliceNumber", .integer).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
        m.registerMigration("runs-v2-owner") { db in
            try db.alter(table: "run") { t in
                t.add(column: "pid", .integer)
                t.add(column: "host", .text)
            }
        }
        m.registerMigration("runs-v3-skipped") { db in
            try db.alter(table: "run") { t in
                t.add(column: "skippedSlices", .integer).notNull().defaults(to: 0)
            }
        }
        // Triage walks its queue by default, so sessions saved before this column reopen on their queue.
        m.registerMigration("triage-v2-queue") { db in
            try db.alter(table: "triage_position") { t in
                t.add(column: "queueOnly", .boolean).notNull().defaults(to: true)
            }
        }
        return m
    }
}
