// End-to-end: triage in tmux. Tiny models are trained through the CLI; decisions are recorded on
// several slices with single keys, glia is killed with SIGKILL, and a restart finds every decision
// and the position; `glia triage export --format csv` lists them all.
import Foundation
import GliaTestSupport
import XCTest

final class TriageEndToEndTests: XCTestCase {
    private static let bench = PhantomWorkbench(name: "triage")

    override class func tearDown() {
        bench.remove()
        super.tearDown()
    }

    private func train(_ arguments: [String], workspace: URL) throws {
        let result = try GliaProcess.run(["train"] + arguments + ["--data", try Self.bench.dataset.get().path,
                                                   "--epochs", "1", "--max-steps", "2", "--batch-size", "4",
                                                   "--workspace", workspace.path])
        XCTAssertEqual(result.status, 0, "glia train \(arguments): \(result.errors)")
    }

    private func startTriage(workspace: URL, pidFile: URL) throws -> TmuxSession {
        let tmux = try Self.bench.session()
        try tmux.typeLine(Self.bench.command(workspace: workspace, pidFile: pidFile))
        try tmux.waitFor("the browser") { $0.contains("Patients 1/4") && $0.contains("q quit") }
        try tmux.send("T")
        try tmux.waitFor(text: "Segmenter run")
        try tmux.send("Enter")
        return tmux
    }

    func testDecisionsSurviveSIGKILLAndExportAsCSV() throws {
        try Self.bench.session().close()  // skips without tmux or glia
        let workspace = Self.bench.work.appendingPathComponent("triage-ws")
        try train(["segmenter", "--image-size", "64"], workspace: workspace)
        try train(["classifier", "--image-size", "128", "--backbone", "resnet10"], workspace: workspace)
        let pidFile = Self.bench.work.appendingPathComponent("triage.pid")

        var tmux = try startTriage(workspace: workspace, pidFile: pidFile)
        try tmux.waitFor("the first prediction", timeout: 30) {
            $0.range(of: #"P\(tumor\)\s+\d\.\d{3}"#, options: .regularExpression) != nil && $0.contains("slice 1  (1/103)")
                && $0.range(of: #"Dice\s+\d\.\d{3}"#, options: .regularExpression) != nil
        }
        try tmux.send("a")
        try tmux.waitFor(text: "saved accept, slice 1")
        // Accepting moves on to the next slice by itself.
        try tmux.send("r", "4")
        try tmux.waitFor("the rating") { $0.contains("4 wrong location / not visible") && $0.contains("saved reject, slice 2") }
        try tmux.send("j", "f", "m")
        try tmux.send("-l", "odd rim, check")
        try tmux.send("Enter")
        try tmux.waitFor(text: "saved flag, slice 3")
        try tmux.send("j")
        // Conditions name everything checked: a capture can fall between two writes of one frame.
        try tmux.waitFor("slice 4") { $0.contains("slice 4  (4/103)") && $0.contains("decided    3 of 103") }

        let pid = try XCTUnwrap(pid_t(String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        try tmux.waitFor(text: "rc=137")
        tmux.close()

        tmux = try startTriage(workspace: workspace, pidFile: pidFile)
        defer { tmux.close() }
        try tmux.waitFor("the restored session") {
            $0.contains("slice 4  (4/103)") && $0.contains("resumed at") && $0.contains("decided    3 of 103")
        }
        try tmux.send("k")
        try tmux.waitFor("slice 3 again") { $0.contains("slice 3  (3/103)") && $0.contains("FLAG") && $0.contains("odd rim, check") }
        try tmux.send("q")

        let out = Self.bench.work.appendingPathComponent("decisions.csv")
        let export = try GliaProcess.run(["triage", "export", "--format", "csv", "--out", out.path, "--workspace", workspace.path])
        XCTAssertEqual(export.status, 0, export.errors)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, lines.joined(separator: "\n"))
        XCTAssertEqual(lines.first, "patient,slice,model_run,decision,rating,rating_label,note,time,shipped_split")
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.map { $0[1] }, ["1", "2", "3"])
        XCTAssertEqual(rows.map { $0[3] }, ["accept", "reject", "flag"])
        XCTAssertEqual(rows[1][4], "4")
        XCTAssertTrue(lines[3].contains("\"odd rim, check\""), lines[3])
        XCTAssertTrue(rows.allSatisfy { $0[2].hasPrefix("classifier-") && $0[2].contains("+segmenter-") }, lines.joined(separator: "\n"))
    }
}
