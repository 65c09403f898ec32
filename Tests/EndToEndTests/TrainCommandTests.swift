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
            + "--epochs 1 --max-steps 12 --batch-size 2 --image-size 64; echo rc=$?")
        let first = try tmux.waitFor("a first progress line", timeout: 60) { $0.contains("step 2/12") }
        XCTAssert(first.contains("epoch 1/1") && first.contains("loss") && first.contains("dice") && first.contains("img/s"), first)
        let exited = { (screen: String) in screen.range(of: "rc=[0-9]", options: .regularExpression) != nil }
        let later = try tmux.waitFor("the line to advance", timeout: 60) { $0.contains("step 8/12") || exited($0) }
        // One live line, rewritten in place: the earlier step is gone from the screen.
        XCTAssertFalse(later.contains("step 2/12"), later)
        let end = try tmux.waitFor("the run to end", timeout: 120, exited)
        XCTAssert(end.contains("rc=0"), end)
        XCTAssert(end.contains("saved last checkpoint"), end)
        XCTAssert(end.contains("finished: finished"), end)
    }

    func testTrainEvalPredictThroughPipes() throws {
        let data = try prerequisites()
        let ws = Self.work.appendingPathComponent("ws-pipe").path
        let train = try GliaProcess.run(["train", "segmenter", "--data", data.path, "--workspace", ws, "--epochs", "1",
                                         "--max-steps", "3", "--batch-size", "4", "--image-size", "64"])
        XCTAssertEqual(train.status, 0, train.errors)
        XCTAssertFalse(train.output.contains("\u{1B}["), "no terminal escapes when not on a terminal")
        XCTAssert(train.output.contains("step 3/3"), train.output)
        XCTAssert(train.output.contains("finished: finished"), train.output)

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
