import Foundation
import GliaTraining
import XCTest

final class RunStoreTests: XCTestCase {
    private var workspace: URL!

    override func setUpWithError() throws {
        workspace = FileManager.default.temporaryDirectory
            .appendingPathComponent("glia-runstore-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: workspace)
    }

    func testCreateRunMakesFolderConfigurationAndUniqueIDs() throws {
        let store = try RunStore(workspace: workspace)
        let config = RunConfiguration.defaults(for: .segmenter, dataPath: "/data")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let a = try store.createRun(config, now: now)
        let b = try store.createRun(config, now: now)
        XCTAssertEqual(a.id, "segmenter-20270115-080000")
        XCTAssertEqual(b.id, "segmenter-20270115-080000-2")
        let saved = try Data(contentsOf: store.folder(for: a.id).appendingPathComponent("configuration.json"))
        XCTAssertEqual(try JSONDecoder().decode(RunConfiguration.self, from: saved), config)
        XCTAssertEqual(try store.run(matching: a.id).decodedConfiguration(), config)
        XCTAssertThrowsError(try store.run(matching: "segmenter-2027")) { error in
            XCTAssert("\(error)".contains("ambiguous"), "\(error)")
        }
        XCTAssertThrowsError(try store.run(matching: "nope")) { error in
            XCTAssertEqual(error as? RunStoreError, .noSuchRun("nope"))
        }
    }

    func testEventsBecomeHistoryAndResumedEpochsReplaceSteps() throws {
        let store = try RunStore(workspace: workspace)
        let run = try store.createRun(RunConfiguration.defaults(for: .classifier, dataPath: "/d"))
        func step(_ g: Int, epoch: Int, loss: Float) -> TrainingEvent {
            .step(StepMetrics(epoch: epoch, step: g, stepsPerEpoch: 2, globalStep: g, loss: loss, metric: 0.5,
                              imagesPerSecond: 10, learningRate: 1e-3))
        }
        try store.record(.runStarted(runID: run.id, configuration: try run.decodedConfiguration()), runID: run.id)
        try store.record(step(1, epoch: 1, loss: 0.9), runID: run.id)
        try store.record(step(2, epoch: 1, loss: 0.8), runID: run.id)
        try store.record(.epoch(EpochMetrics(epoch: 1, trainLoss: 0.85, trainMetric: 0.6, validationLoss: 0.7,
                                             validationMetric: 0.65, learningRate: 1e-3, seconds: 3, isBest: true)),
                         runID: run.id)
        // Steps of epoch 2 that a crash cut short, then the resumed run repeats epoch 2.
        try store.record(step(3, epoch: 2, loss: 0.75), runID: run.id)
        try store.record(step(3, epoch: 2, loss: 0.6), runID: run.id)
        try store.record(.finished(status: .finished, bestEpoch: 1, bestValidationLoss: 0.7), runID: run.id)

        XCTAssertEqual(try store.steps(of: run.id).map(\.loss), [0.9, 0.8, 0.6].map { Double(Float($0)) })
        XCTAssertEqual(try store.epochs(of: run.id).map(\.epoch), [1])
        let summary = try store.run(matching: run.id)
        XCTAssertEqual(summary.status, "finished")
        XCTAssertEqual(summary.bestEpoch, 1)
        XCTAssertEqual(summary.epochsDone, 1)
        XCTAssertNotNil(summary.finishedAt)

        // A second store on the same workspace sees everything (WAL, committed rows).
        let reopened = try RunStore(workspace: workspace)
        XCTAssertEqual(try reopened.runs().map(\.id), [run.id])
    }

    func testFailureIsRecordedWithMessage() throws {
        let store = try RunStore(workspace: workspace)
        let run = try store.createRun(RunConfiguration.defaults(for: .segmenter, dataPath: "/d"))
        try store.record(.failed(message: "loss is NaN at epoch 1, step 3"), runID: run.id)
        let summary = try store.run(matching: run.id)
        XCTAssertEqual(summary.status, "failed")
        XCTAssertEqual(summary.message, "loss is NaN at epoch 1, step 3")
    }

    func testAKilledRunReadsAsInterrupted() throws {
        let store = try RunStore(workspace: workspace)
        let run = try store.createRun(RunConfiguration.defaults(for: .segmenter, dataPath: "/d"))
        XCTAssertEqual(try store.run(matching: run.id).status, "running", "this process is alive")
        // The process that ran it is gone (no process can have this pid).
        try store.workspace.database.write { db in
            try db.execute(sql: "UPDATE run SET pid = 2147483647 WHERE id = ?", arguments: [run.id])
        }
        XCTAssertEqual(try store.run(matching: run.id).status, "interrupted")
        XCTAssertEqual(try store.runs().first?.status, "interrupted")
        // A finished run stays finished whatever its process became.
        try store.record(.finished(status: .finished, bestEpoch: nil, bestValidationLoss: nil), runID: run.id)
        XCTAssertEqual(try store.run(matching: run.id).status, "finished")
    }

    func testRunLookupTakesPercentAndUnderscoreLiterally() throws {
        let store = try RunStore(workspace: workspace)
        let config = RunConfiguration.defaults(for: .segmenter, dataPath: "/data")
        let a = try store.createRun(config, now: Date(timeIntervalSince1970: 1_800_000_000))
        _ = try store.createRun(config, now: Date(timeIntervalSince1970: 1_800_000_100))
        for pattern in ["_", "%", "segmenter_", "%0800"] {
            XCTAssertThrowsError(try store.run(matching: pattern), pattern) { error in
                XCTAssertEqual(error as? RunStoreError, .noSuchRun(pattern))
            }
        }
        // A real prefix still finds its run, and case counts.
        XCTAssertEqual(try store.run(matching: String(a.id.dropLast(2))).id, a.id)
        XCTAssertThrowsError(try store.run(matching: a.id.uppercased()))
    }

    func testWorkspaceThatIsAFileIsRejected() throws {
        try Data("x".utf8).write(to: workspace)
        XCTAssertThrowsError(try RunStore(workspace: workspace)) { error in
            XCTAssertEqual(error as? WorkspaceError, .notADirectory(workspace.path))
        }
    }
}
