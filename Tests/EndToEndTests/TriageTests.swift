// End-to-end: triage in tmux. Tiny models are trained through the CLI (once; each test works on a
// copy of that workspace); decisions are recorded on several slices with single keys, glia is
// killed with SIGKILL, and a restart finds every decision and the position; `glia triage export
// --format csv` lists them all. At 80x24: the queue is walked by default with its counts and rating
// meanings, its list jumps, and the browser then lists P(tumor) and the decisions and sorts by them;
// `glia runs` names each run's dataset.
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

    /// A fresh workspace named `name` holding a tiny segmenter and classifier, trained the first time
    /// and copied after (no process has the trained workspace open while it is copied).
    private func trainedWorkspace(_ name: String) throws -> URL {
        let trained = Self.bench.work.appendingPathComponent("trained-ws")
        if !FileManager.default.fileExists(atPath: trained.appendingPathComponent("runs").path) {
            try train(["segmenter", "--image-size", "64"], workspace: trained)
            try train(["classifier", "--image-size", "128", "--backbone", "resnet10"], workspace: trained)
        }
        let copy = Self.bench.work.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: trained, to: copy)
        return copy
    }

    private func startTriage(workspace: URL, pidFile: URL, columns: Int = 130, rows: Int = 40) throws -> TmuxSession {
        let tmux = try Self.bench.session(columns: columns, rows: rows)
        try tmux.typeLine(Self.bench.command(workspace: workspace, pidFile: pidFile))
        try tmux.waitFor("the browser") { $0.contains("Patients 1/4") && $0.contains("q quit") }
        try tmux.send("T")
        try tmux.waitFor(text: "Segmenter run")
        try tmux.send("Enter")
        return tmux
    }

    func testDecisionsSurviveSIGKILLAndExportAsCSV() throws {
        try Self.bench.session().close()  // skips without tmux or glia
        let workspace = try trainedWorkspace("triage-ws")
        let pidFile = Self.bench.work.appendingPathComponent("triage.pid")

        var tmux = try startTriage(workspace: workspace, pidFile: pidFile)
        // Every slice, not the queue (the default), so the slices decided on are known; v is saved
        // with the position, so the restart below walks every slice too.
        try tmux.send("v")
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

    func testTheQueueItsListAndTheBrowserColumnsAt80x24() throws {
        try Self.bench.session().close()  // skips without tmux or glia
        let workspace = try trainedWorkspace("queue-ws")
        // glia runs names the dataset each run was trained on (the phantom set's folder is "data").
        let runs = try GliaProcess.run(["runs", "--workspace", workspace.path])
        XCTAssertEqual(runs.status, 0, runs.errors)
        for pattern in [#"RUN\s+RECIPE\s+STATUS\s+DATA\s+EPOCHS"#, #"segmenter-\S+\s+segmenter\s+finished\s+data\s"#,
                        #"classifier-\S+\s+classifier\s+finished\s+data\s"#] {
            XCTAssertNotNil(runs.output.range(of: pattern, options: .regularExpression), "\(pattern) in glia runs:\n\(runs.output)")
        }
        let tmux = try startTriage(workspace: workspace, pidFile: Self.bench.work.appendingPathComponent("queue.pid"), columns: 80, rows: 24)
        defer { tmux.close() }
        // The queue by default, with its counts, and every rating's meaning beside its key.
        try tmux.waitFor("the queue", timeout: 30) {
            $0.range(of: #"queue\s+\d+ of 103 slices"#, options: .regularExpression) != nil && $0.contains(" 0 acc, 0 rej, 0 flag")
                && $0.range(of: #"slice \d+  \(1/\d+\)"#, options: .regularExpression) != nil
                && ["1 as is", "2 minor fixes", "3 major fixes", "4 wrong / not seen", "a accept", "l list"].allSatisfy($0.contains)
        }
        try tmux.send("a")
        try tmux.waitFor("the accept, counted") { $0.contains("saved accept") && $0.contains(" 1 acc, 0 rej") }
        try tmux.send("l")
        try tmux.waitFor("the queue list on the second row") {
            $0.range(of: #"Queue 2/\d+  \d+ to do"#, options: .regularExpression) != nil && $0.contains("Patient") && $0.contains("accept")
        }
        try tmux.send("j", "Enter")
        try tmux.waitFor("the third queued slice") { $0.range(of: #"slice \d+  \(3/\d+\)"#, options: .regularExpression) != nil }
        try tmux.send("B", "Tab")
        // The browser lists the pair's P(tumor) and the decision made in triage.
        try tmux.waitFor("the browser's P(tumor) and Triage columns", timeout: 30) {
            $0.range(of: #"\s\d\.\d\d\s+accept"#, options: .regularExpression) != nil
        }
        try tmux.send("s", "s", "s", "s", "s")
        try tmux.waitFor(text: "by disagreement")
        try tmux.send("S")
        try tmux.waitFor(text: "no mask is drawn")
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }
}
