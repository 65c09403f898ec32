// Damaged and read-only workspaces (issue 14 items 12 and 13): reading commands work on a workspace
// they cannot write, a checkpoint file needs no database at all, and runs that the database lost are
// named and can be registered again.
import Foundation
import GliaCore
import GliaTestSupport
import GliaTraining
import XCTest

final class WorkspaceFaultTests: XCTestCase {
    private var files: FaultFiles!

    override func setUpWithError() throws {
        guard GliaProcess.executable != nil else { throw XCTSkip("glia executable not built") }
        files = try FaultFiles.make()
    }

    override func tearDown() {
        if let files { chmodTree(files.folder, writable: true) }
        files?.remove()
    }

    /// A workspace holding one finished segmenter run with a small `best` checkpoint, and a dataset.
    private func workspaceWithRun() throws -> (workspace: URL, run: String, data: URL) {
        let data = files.url("data")
        XCTAssertEqual(try GliaProcess.run(["synth", "--out", data.path, "--patients", "2"]).status, 0)
        let ws = files.url("ws")
        let store = try RunStore(workspace: ws)
        let run = try store.createRun(RunConfiguration.defaults(for: .segmenter, dataPath: data.path))
        try Checkpoint.saveModel(try ResUNet(configuration: ResUNetConfiguration(filters: [4, 8]), seed: 1),
                                 to: store.folder(for: run.id).appendingPathComponent("best.safetensors"))
        try store.record(.finished(status: .finished, bestEpoch: nil, bestValidationLoss: nil), runID: run.id)
        return (ws, run.id, data)
    }

    private func chmodTree(_ url: URL, writable: Bool) {
        let enumerator = FileManager.default.enumerator(atPath: url.path)
        let paths = [url.path] + ((enumerator?.allObjects as? [String]) ?? []).map { url.path + "/" + $0 }
        for path in paths {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            chmod(path, writable ? (isFolder.boolValue ? 0o755 : 0o644) : (isFolder.boolValue ? 0o555 : 0o444))
        }
    }

    /// Runs glia as a user who cannot write `workspace`: this user after chmod, or, as root (whom
    /// permissions do not stop), the user nobody.
    private func runReadOnly(_ arguments: [String], workspace: URL) throws -> GliaProcess.Result {
        chmodTree(workspace, writable: false)
        guard geteuid() == 0 else { return try GliaProcess.run(arguments, timeout: 30) }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else {
            throw XCTSkip("running as root without runuser: cannot make the workspace read-only")
        }
        let glia = try XCTUnwrap(GliaProcess.executable).path
        let probe = try GliaProcess.run(program: URL(fileURLWithPath: "/usr/sbin/runuser"), ["-u", "nobody", "--", glia, "--version"], timeout: 30)
        guard probe.status == 0 else { throw XCTSkip("user nobody cannot run \(glia): \(probe.transcript)") }
        return try GliaProcess.run(program: URL(fileURLWithPath: "/usr/sbin/runuser"), ["-u", "nobody", "--", glia] + arguments, timeout: 30)
    }

    // Item 12: runs and eval RUN on a workspace the user cannot write.
    func testReadingCommandsWorkOnAReadOnlyWorkspace() throws {
        let (ws, run, data) = try workspaceWithRun()
        let runs = try runReadOnly(["runs", "--workspace", ws.path], workspace: ws)
        XCTAssertEqual(runs.status, 0, runs.transcript)
        XCTAssertTrue(runs.transcript.contains(run), runs.transcript)
        XCTAssertFalse(runs.transcript.contains("SQLite error"), runs.transcript)
        let eval = try runReadOnly(["eval", "--segmenter", run, "--data", data.path, "--part", "all",
                                    "--workspace", ws.path, "--json"], workspace: ws)
        XCTAssertEqual(eval.status, 0, eval.transcript)
        XCTAssertTrue(eval.transcript.contains("\"segmenter\""), eval.transcript)
    }

    // Item 12: a checkpoint file needs no database; a garbage one does not stop predict.
    func testCheckpointFileNeedsNoDatabase() throws {
        let (ws, run, data) = try workspaceWithRun()
        let database = ws.appendingPathComponent("glia.sqlite")
        try Data("this is not a database".utf8).write(to: database)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database.path + suffix) }
        let checkpoint = ws.appendingPathComponent("runs/\(run)/best.safetensors").path
        let slice = try XCTUnwrap(FileManager.default.enumerator(atPath: data.path)?.allObjects
            .compactMap { $0 as? String }.first { $0.hasSuffix("_1.tif") })
        let predict = try GliaProcess.run(["predict", data.path + "/" + slice, "--segmenter", checkpoint,
                                            "--out", files.url("out").path, "--workspace", ws.path], timeout: 30)
        XCTAssertEqual(predict.status, 0, predict.transcript)
        XCTAssertEqual(try Data(contentsOf: database), Data("this is not a database".utf8), "the database is not touched")
        // Naming a run does need the database, and the error says which one is unreadable.
        let byRun = try GliaProcess.run(["predict", data.path + "/" + slice, "--segmenter", run,
                                          "--out", files.url("out").path, "--workspace", ws.path], timeout: 30)
        XCTAssertNotEqual(byRun.status, 0)
        XCTAssertTrue(byRun.transcript.contains(ws.path), byRun.transcript)
    }

    // Item 13: an emptied database names the run folders it lost, and --register brings them back.
    func testEmptyDatabaseNamesLostRunsAndRegistersThem() throws {
        let (ws, run, _) = try workspaceWithRun()
        let database = ws.appendingPathComponent("glia.sqlite")
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database.path + suffix) }
        try Data().write(to: database)
        let listed = try GliaProcess.run(["runs", "--workspace", ws.path], timeout: 30)
        XCTAssertEqual(listed.status, 0, listed.transcript)
        XCTAssertTrue(listed.transcript.contains("1 run folder(s)") && listed.transcript.contains(run)
                      && listed.transcript.contains("glia runs --register"), listed.transcript)
        let registered = try GliaProcess.run(["runs", "--register", "--workspace", ws.path, "--json"], timeout: 30)
        XCTAssertEqual(registered.status, 0, registered.transcript)
        XCTAssertTrue(registered.transcript.contains("registered \(run)"), registered.transcript)
        let store = try RunStore(workspace: ws)
        XCTAssertEqual(try store.run(matching: run).recipe, "segmenter")
        XCTAssertEqual(try store.unregisteredRunFolders(), [])
        let model = try TrainedModel.load(run, store: store)
        XCTAssertTrue(model.model is ResUNet, "the run's checkpoint is found through the registered row")
    }
}
