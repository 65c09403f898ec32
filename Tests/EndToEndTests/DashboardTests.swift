// End-to-end: the training dashboard in tmux. A short phantom segmenter run is started from the
// form; the progress and the charts advance, a pause holds the step count, resume goes on, stop ends it.
// Also measures how fast a key is answered while training runs.
import Foundation
import GliaTestSupport
import XCTest

final class DashboardEndToEndTests: XCTestCase {
    private static let bench = PhantomWorkbench(name: "dashboard")

    override class func tearDown() {
        bench.remove()
        super.tearDown()
    }

    private static func percent(_ screen: String) -> Int? {
        guard let range = screen.range(of: #"\d+% "#, options: .regularExpression) else { return nil }
        return Int(screen[range].dropLast(2))
    }

    private static func step(_ screen: String) -> String? {
        screen.range(of: #"epoch \d+/\d+  step \d+/\d+"#, options: .regularExpression).map { String(screen[$0]) }
    }

    func testStartWatchPauseResumeARun() throws {
        let bench = Self.bench
        let tmux = try bench.session()
        _ = try bench.dataset.get()
        let workspace = bench.work.appendingPathComponent("workspace")
        defer { tmux.close() }
        try tmux.typeLine(bench.command(workspace: workspace, pidFile: bench.work.appendingPathComponent("glia.pid")))
        try tmux.waitFor("the browser") { $0.contains("Patients 1/4") && $0.contains("q quit") }
        try tmux.send("D")
        try tmux.waitFor(text: "New run")
        // Segmenter rows: recipe, epochs, batch, lr, image size, steps/epoch, augment (no backbone).
        // epochs 40 -> 20, batch 16 -> 8, image 128 -> 64 (-> 64: the smallest choice).
        try tmux.send("j", "Left", "j", "Left", "j", "j", "Left", "Left")
        // Conditions name everything checked: a capture can fall between two writes of one frame.
        try tmux.waitFor("the quick settings") {
            $0.contains("image size    ◂ 64 px") && $0.contains("epochs        20") && $0.contains("batch size    8")
        }
        try tmux.send("Enter")
        try tmux.waitFor("the first steps", timeout: 60) {
            Self.step($0) != nil && $0.contains("RUNNING") && $0.contains("Live: segmenter-") && $0.contains("img/s")
                && $0.contains("lr 0.001") && $0.contains("ETA")
        }

        // A key is answered while training runs: move the form cursor and time the redraw.
        let started = Date()
        try tmux.send("k")
        try tmux.waitFor("the form cursor") { $0.contains("learning rate ◂ 0.001") }
        let latency = Date().timeIntervalSince(started)
        print("dashboard: key answered in \(Int(latency * 1000)) ms while training (tmux polling included)")
        XCTAssertLessThan(latency, 1.0)

        try tmux.send("Space")
        var screen = try tmux.waitFor("the pause", timeout: 30) { $0.contains("PAUSED") && $0.contains("│ paused") }
        // Once paused, the notice goes and the runs list says paused, not running (the run id in its
        // compact form beside the DATA and VAL columns).
        try tmux.waitFor("the pause shown everywhere", timeout: 10) {
            !$0.contains("pausing after this step") && $0.range(of: #"(segmenter-|S )\d{8}-\d{6}\s+paused"#, options: .regularExpression) != nil
        }
        let pausedAt = try XCTUnwrap(Self.step(screen))
        let pausedPercent = try XCTUnwrap(Self.percent(screen))
        usleep(1_200_000)
        screen = try tmux.capture()
        XCTAssertEqual(Self.step(screen), pausedAt, "no step while paused")
        try tmux.send("Space")
        try tmux.waitFor("progress after resuming", timeout: 60) { s in
            (Self.percent(s) ?? 0) > pausedPercent && s.contains("RUNNING") && s.contains("best epoch") && s.contains("│ resumed")
        }
        try tmux.send("x")
        // Braille curves, the final log line, and the run listed with its final status.
        try tmux.waitFor("the stop", timeout: 60) {
            $0.contains("STOPPED") && $0.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) }
                && $0.contains("finished: stopped") && $0.contains("stopped  ")
        }
        try tmux.send("b")
        try tmux.waitFor("block charts") {
            $0.contains("charts: block characters") && !$0.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) }
                && $0.unicodeScalars.contains { $0 == "\u{2580}" || $0 == "\u{2584}" }
        }
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }

    /// The run rows of `glia runs --json` in `workspace`.
    private static func storedRuns(_ workspace: URL) throws -> [[String: Any]] {
        let result = try GliaProcess.run(["runs", "--json", "--workspace", workspace.path])
        guard result.status == 0, let rows = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] else {
            throw TmuxError(message: "glia runs --json: \(result.errors)")
        }
        return rows
    }

    func testQuitWithALiveRunAsksAndCanKeepItTrainingInTheBackground() throws {
        let bench = Self.bench
        let tmux = try bench.session()
        _ = try bench.dataset.get()
        let workspace = bench.work.appendingPathComponent("workspace-detach")
        defer { tmux.close() }
        try tmux.typeLine(bench.command(workspace: workspace, pidFile: bench.work.appendingPathComponent("detach.pid")))
        try tmux.waitFor("the browser") { $0.contains("Patients 1/4") && $0.contains("q quit") }
        try tmux.send("D")
        try tmux.waitFor(text: "New run")
        // epochs 40 -> 3, batch 16 -> 8, image 128 -> 64, steps/epoch all -> 20.
        try tmux.send("j", "Left", "Left", "Left", "Left", "j", "Left", "j", "j", "Left", "j", "Right", "Right", "Right")
        try tmux.waitFor("the quick settings") {
            $0.contains("epochs        3") && $0.contains("image size    64 px") && $0.contains("steps/epoch   ◂ 20")
        }
        try tmux.send("Enter")
        try tmux.waitFor("the first steps", timeout: 60) { Self.step($0) != nil && $0.contains("RUNNING") }
        // Ctrl-C asks instead of killing the run; Esc stays and the run goes on.
        try tmux.send("C-c")
        try tmux.waitFor("the question") { $0.contains("A run is training") && $0.contains("d keep training") && $0.contains("Esc stay") }
        try tmux.send("Escape")
        try tmux.waitFor("the run still training") { !$0.contains("A run is training") && $0.contains("RUNNING") }
        try tmux.send("q")
        try tmux.waitFor(text: "A run is training")
        try tmux.send("d")
        try tmux.waitFor("the workstation to exit", timeout: 60) { $0.contains("rc=0") }
        let id = try XCTUnwrap(Self.storedRuns(workspace).first?["id"] as? String)
        // The background process owns the run now, in a session of its own (no terminal to lose), and finishes it.
        let deadline = Date().addingTimeInterval(120)
        var row: [String: Any] = [:]
        var sessionChecked = false
        while Date() < deadline {
            row = try Self.storedRuns(workspace).first { $0["id"] as? String == id } ?? [:]
            if !sessionChecked, row["status"] as? String == "running", let pid = row["pid"] as? Int,
               let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")") {
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                // After the name: state, ppid, pgrp, session, tty.
                XCTAssertEqual(fields.count > 4 ? Int(fields[3]) : nil, pid, "setsid: the background run leads its own session")
                XCTAssertEqual(fields.count > 4 ? Int(fields[4]) : nil, 0, "and has no controlling terminal")
                sessionChecked = true
            }
            if row["status"] as? String == "finished" { break }
            usleep(300_000)
        }
        XCTAssertTrue(sessionChecked, "the background process was seen running")
        XCTAssertEqual(row["status"] as? String, "finished", "\(row)")
        XCTAssertEqual(row["epochsDone"] as? Int, 3)
        let log = try String(contentsOf: workspace.appendingPathComponent("runs/\(id)/background.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("finished, best epoch"), log)
    }
}
