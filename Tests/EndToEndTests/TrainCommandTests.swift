// End-to-end tests of the headless training commands on the built binary: `glia train` on a
// terminal (tmux) and through a pipe, then `glia runs`, `glia eval --json` and `glia predict`.
import Foundation
import GliaTestSupport
import XCTest

final class TrainCommandTests: XCTestCase {
    private static let work = FileManager.default.temporaryDirectory.appendingPathComponent("glia-train-e2e-\(getpid())")
    private static let dataset: Result<URL, any Error> = Result {
        let url = work.appendingPathComponent("data")
        let r = try GliaProcess.run(["synth", "--out", url.path, "--patients", "6"])
        guard r.status == 0 else { throw TmuxError(message: "glia synth failed: \(r.errors)") }
        return url
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: work)
        super.tearDown()
    }

    private func prerequisites() throws -> URL {
        guard GliaProcess.executable != nil else { throw XCTSkip("skipped: glia executable not built") }
        return try Self.dataset.get()
    }

    func testTrainOnATerminalShowsALiveProgressLine() throws {
        let data = try prerequisites()
        guard TmuxSession.executable != nil else { throw XCTSkip("skipped: tmux is not installed") }
        let tmux = try TmuxSession(columns: 120, rows: 20)
        defer { tmux.close() }
        let workspace = Self.work.appendingPathComponent("ws-tty")
        try tmux.typeLine("\(GliaProcess.executable!.path) train segmenter --data \(data.path) --workspace \(workspace.path) "
            + "--epochs 1 --max-steps 40 --batch-size 4 --image-size 128; echo rc=$?")
        /// The step numbers of "step N/M" lines on the screen.
        func steps(_ screen: String) -> [Int] {
            screen.split(separator: "\n").compactMap { line in
                guard let r = line.range(of: "step [0-9]+/[0-9]+", options: .regularExpression) else { return nil }
                return Int(line[r].dropFirst(5).prefix { $0 != "/" })
            }
        }
        let exited = { (screen: String) in screen.range(of: "rc=[0-9]", options: .regularExpression) != nil }
        let first = try tmux.waitFor("a first progress line", timeout: 60) { !steps($0).isEmpty || exited($0) }
        let firstStep = try XCTUnwrap(steps(first).first, first)
        XCTAssert(first.contains("epoch 1/1") && first.contains("loss") && first.contains("dice") && first.contains("img/s"), first)
        let later = try tmux.waitFor("the line to advance", timeout: 60) { screen in
            steps(screen).contains { $0 > firstStep } || exited(screen)
        }
        // One live line, rewritten in place: a single step line, further on than the first one.
        XCTAssertEqual(steps(later).count, 1, later)
        XCTAssertGreaterThan(steps(later).first ?? 0, firstStep, later)
        let end = try tmux.waitFor("the run to end", timeout: 120, exited)
        XCTAssert(end.contains("rc=0"), end)
        XCTAssert(end.contains("saved last checkpoint"), end)
        XCTAssert(end.contains("finished, best epoch"), end)
    }

    func testClassifierTooSmallForItsPoolingIsRefusedBeforeARunExists() throws {
        let data = try prerequisites()
        let workspace = Self.work.appendingPathComponent("ws-small")
        let result = try GliaProcess.run(["train", "classifier", "--image-size", "64", "--data", data.path, "--workspace", workspace.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.errors.split(separator: "\n").count, 1, result.errors)
        XCTAssertTrue(result.errors.contains("image size 64 is too small for the resnet18 classifier"), result.errors)
        XCTAssertTrue(result.errors.contains("use at least 128"), result.errors)
        let runs = try GliaProcess.run(["runs", "--json", "--workspace", workspace.path])
        let rows = try JSONSerialization.jsonObject(with: Data(runs.output.utf8)) as? [Any]
        XCTAssertEqual(rows?.count, 0, "no run was created: \(runs.output)")
    }

    func testCtrlCStopsAfterTheStepSavesLastAndResumeFinishes() throws {
        let data = try prerequisites()
        guard TmuxSession.executable != nil else { throw XCTSkip("skipped: tmux is not installed") }
        let tmux = try TmuxSession(columns: 140, rows: 30)
        defer { tmux.close() }
        let workspace = Self.work.appendingPathComponent("ws-interrupt").path
        let glia = GliaProcess.executable!.path
        try tmux.typeLine("\(glia) train segmenter --data \(data.path) --workspace \(workspace) "
            + "--epochs 2 --max-steps 30 --batch-size 4 --image-size 128")
        try tmux.waitFor("training to start", timeout: 60) { $0.range(of: "step [0-9]+/", options: .regularExpression) != nil }
        try tmux.send("C-c")
        let stopped = try tmux.waitFor("the run to stop", timeout: 60) { $0.contains("finished: stopped") }
        XCTAssert(stopped.contains("saved last checkpoint"), stopped)

        let runs = try GliaProcess.run(["runs", "--workspace", workspace, "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(runs.output.utf8)) as? [[String: Any]]
        XCTAssertEqual(list?.first?["status"] as? String, "stopped")
        let run = try XCTUnwrap(list?.first?["id"] as? String)
        let resumed = try GliaProcess.run(["train", "--resume", run, "--workspace", workspace])
        XCTAssertEqual(resumed.status, 0, resumed.errors)
        XCTAssert(resumed.output.contains("epoch 2/2"), resumed.output)
        XCTAssert(resumed.output.contains("finished, best epoch"), resumed.output)
    }

    func testTrainEvalPredictThroughPipes() throws {
        let data = try prerequisites()
        let ws = Self.work.appendingPathComponent("ws-pipe").path
        let train = try GliaProcess.run(["train", "segmenter", "--data", data.path, "--workspace", ws, "--epochs", "1",
                                         "--max-steps", "3", "--batch-size", "4", "--image-size", "64"])
        XCTAssertEqual(train.status, 0, train.errors)
        XCTAssertFalse(train.output.contains("\u{1B}["), "no terminal escapes when not on a terminal")
        XCTAssert(train.output.contains("step 3/3"), train.output)
        XCTAssert(train.output.contains("finished, best epoch"), train.output)

        let runs = try GliaProcess.run(["runs", "--workspace", ws, "--json"])
        XCTAssertEqual(runs.status, 0, runs.errors)
        let list = try JSONSerialization.jsonObject(with: Data(runs.output.utf8)) as? [[String: Any]]
        let run = try XCTUnwrap(list?.first?["id"] as? String)
        XCTAssertEqual(list?.first?["status"] as? String, "finished")

        let eval = try GliaProcess.run(["eval", "--segmenter", run, "--workspace", ws, "--part", "validation", "--json"])
        XCTAssertEqual(eval.status, 0, eval.errors)
        let report = try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as? [String: Any]
        let segmenter = try XCTUnwrap(report?["segmenter"] as? [String: Any])
        XCTAssertNotNil(segmenter["meanDice"] as? Double)
        XCTAssertEqual(report?["part"] as? String, "validation")

        let patient = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { !$0.hasSuffix(".csv") }.sorted()[0]
        let image = data.appendingPathComponent(patient).appendingPathComponent("\(patient)_5.tif").path
        let out = Self.work.appendingPathComponent("preds").path
        let predict = try GliaProcess.run(["predict", image, "--segmenter", run, "--workspace", ws, "--out", out, "--json"])
        XCTAssertEqual(predict.status, 0, predict.errors)
        let rows = try JSONSerialization.jsonObject(with: Data(predict.output.utf8)) as? [[String: Any]]
        let mask = try XCTUnwrap(rows?.first?["mask"] as? String)
        XCTAssert(FileManager.default.fileExists(atPath: mask), mask)
    }

    func testBadPathsGetOneLineErrorsNamingThem() throws {
        _ = try prerequisites()
        let ws = Self.work.appendingPathComponent("ws-errors").path
        let missing = try GliaProcess.run(["train", "segmenter", "--data", "/no/such/lgg", "--workspace", ws])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssert(missing.errors.contains("/no/such/lgg"), missing.errors)
        let noRun = try GliaProcess.run(["eval", "--segmenter", "nonexistent-run", "--workspace", ws])
        XCTAssertNotEqual(noRun.status, 0)
        XCTAssert(noRun.errors.contains("nonexistent-run"), noRun.errors)
        let notTIFF = try GliaProcess.run(["predict", "/etc/hostname", "--segmenter", "x.safetensors", "--workspace", ws])
        XCTAssertNotEqual(notTIFF.status, 0)
        XCTAssert(notTIFF.errors.contains("x.safetensors"), notTIFF.errors)
        let resume = try GliaProcess.run(["train", "--resume", "nope", "--workspace", ws])
        XCTAssertNotEqual(resume.status, 0)
        XCTAssert(resume.errors.contains("nope"), resume.errors)
    }
}
