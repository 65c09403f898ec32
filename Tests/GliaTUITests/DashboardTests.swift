// Dashboard: events folded into a snapshot, the same run read back from the run store, the form,
// and the drawn pane (header, charts, log) for a stored run.
import Foundation
import GliaTraining
import GliaTUI
import XCTest

final class DashboardTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-dashboard-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    private func configuration() -> RunConfiguration {
        var c = RunConfiguration.defaults(for: .segmenter, dataPath: "/data")
        c.epochs = 2
        return c
    }

    /// Two epochs of two steps; the second epoch is worse (so epoch 1 stays best), with a pause.
    private func events(runID: String) -> [TrainingEvent] {
        func step(_ global: Int, loss: Float) -> TrainingEvent {
            .step(StepMetrics(epoch: (global - 1) / 2 + 1, step: (global - 1) % 2 + 1, stepsPerEpoch: 2, globalStep: global,
                              loss: loss, metric: 1 - loss, imagesPerSecond: 10, learningRate: 1e-3))
        }
        return [.runStarted(runID: runID, configuration: configuration()),
                step(1, loss: 0.9), step(2, loss: 0.7),
                .epoch(EpochMetrics(epoch: 1, trainLoss: 0.8, trainMetric: 0.2, validationLoss: 0.5, validationMetric: 0.5,
                                    learningRate: 1e-3, seconds: 2, isBest: true)),
                .paused, .resumed,
                step(3, loss: 0.6)]
    }

    func testSnapshotFoldsEventsIntoProgressPaceAndLog() {
        var s = TrainingSnapshot(phase: "preparing")
        let start = Date(timeIntervalSince1970: 1000)
        for (i, e) in events(runID: "r1").enumerated() { s.apply(e, now: start.addingTimeInterval(Double(i))) }
        XCTAssertEqual(s.runID, "r1")
        XCTAssertEqual(s.phase, "running")
        XCTAssertEqual(s.steps.map(\.globalStep), [1, 2, 3])
        XCTAssertEqual(s.bestEpoch?.epoch, 1)
        XCTAssertEqual(s.fractionDone, 0.75, accuracy: 1e-9)
        // Only steps 1 -> 2 count for the pace (the epoch and the pause reset it): 1 s per step, 1 step left.
        XCTAssertEqual(s.secondsPerStep ?? -1, 1, accuracy: 1e-9)
        XCTAssertEqual(s.secondsLeft ?? -1, 1, accuracy: 1e-9)
        XCTAssertTrue(s.log.contains("paused"))
        XCTAssertTrue(s.log.contains { $0.hasPrefix("epoch 1/2") })
        s.apply(.finished(status: .finished, bestEpoch: 1, bestValidationLoss: 0.5))
        XCTAssertEqual(s.phase, "finished")
        XCTAssertFalse(s.isLive)
    }

    func testStoredRunReadsBackAsTheLiveRunSawIt() throws {
        let store = try RunStore(workspace: folder)
        let run = try store.createRun(configuration())
        var live = TrainingSnapshot(phase: "preparing")
        for e in events(runID: run.id) {
            try store.record(e, runID: run.id)
            live.apply(e)
        }
        let summary = try store.run(matching: run.id)
        let stored = TrainingSnapshot(run: summary, steps: try store.steps(of: run.id), epochs: try store.epochs(of: run.id))
        XCTAssertEqual(stored.steps.map(\.globalStep), live.steps.map(\.globalStep))
        XCTAssertEqual(stored.steps.map(\.step), live.steps.map(\.step))
        XCTAssertEqual(stored.steps.map(\.loss), live.steps.map(\.loss))
        XCTAssertEqual(stored.epochs, live.epochs)
        XCTAssertEqual(stored.configuration, configuration())
    }

    func testAnOpenedRunTrainingInTheShellIsFollowedAndTheCursorStaysOnItsRun() throws {
        let store = try RunStore(workspace: folder)
        let run = try store.createRun(configuration(), now: Date(timeIntervalSince1970: 1_800_000_000))
        let all = events(runID: run.id)
        for e in all.prefix(4) { try store.record(e, runID: run.id) }
        var pane = DashboardPane()
        pane.reloadRuns(store: store)
        XCTAssertEqual(pane.openSelected(store: store), "opened \(run.id)")
        XCTAssertEqual(pane.shown?.phase, "running")
        XCTAssertEqual(pane.toggleComparison(store: store).hasSuffix("pick another run to compare it with"), true,
                       "the run shown is not compared with itself")
        XCTAssertNil(pane.comparison)
        // `glia train` in another shell goes on and finishes; a newer run appears above it.
        for e in all.dropFirst(4) + [.finished(status: .finished, bestEpoch: 1, bestValidationLoss: 0.5)] {
            try store.record(e, runID: run.id)
        }
        let newer = try store.createRun(configuration(), now: Date(timeIntervalSince1970: 1_800_000_600))
        let now = Date()
        XCTAssertTrue(pane.refresh(store: store, now: now))
        XCTAssertEqual(pane.shown?.phase, "finished", "no longer 'running' once the shell's run ended")
        XCTAssertEqual(pane.shown?.steps.count, 3)
        XCTAssertEqual(pane.runs.map(\.id), [newer.id, run.id])
        XCTAssertEqual(pane.runs[pane.runCursor.selected].id, run.id, "the cursor follows the run, not the row number")
        XCTAssertFalse(pane.refresh(store: store, now: now.addingTimeInterval(0.5)), "the store is read once a second at most")
    }

    func testAt80x24RunIdsStayDistinctAndLegendsStayInsideTheirBoxes() throws {
        let store = try RunStore(workspace: folder)
        var ids: [String] = []
        for minute in 0..<2 {
            let run = try store.createRun(configuration(), now: Date(timeIntervalSince1970: 1_800_000_000 + Double(minute * 60)))
            for e in events(runID: run.id) + [.finished(status: .finished, bestEpoch: 1, bestValidationLoss: 0.5)] {
                try store.record(e, runID: run.id)
            }
            ids.append(run.id)
        }
        var pane = DashboardPane()
        pane.reloadRuns(store: store)
        _ = pane.openSelected(store: store)
        pane.runCursor.move(by: 1)
        _ = pane.toggleComparison(store: store)
        let style = PaneStyle(theme: .dark, glyphs: .unicode)
        var buffer = CellBuffer(columns: 80, rows: 22, fill: Cell(" ", foreground: RGB(0, 0, 0), background: RGB(0, 0, 0)))
        pane.draw(into: &buffer, rect: Rect(x: 0, y: 0, width: 80, height: 22), style: style)
        let text = buffer.plainText.joined(separator: "\n")
        for id in ids {
            XCTAssertTrue(text.contains(RunLabel.fitting(id, width: 16)), "\(id) as a compact label:\n\(text)")
        }
        XCTAssertEqual(Set(ids.map { RunLabel.fitting($0, width: 16) }).count, 2, "labels still tell the runs apart")
        XCTAssertFalse(text.contains("segmenter-2 "), "no id cut to 'segmenter-2'")
        // Every chart's right border is whole: the legend (with the comparison's entries) stays inside.
        for y in 0..<22 {
            let line = buffer.plainText[y]
            XCTAssertFalse(line.contains("━┘") || line.contains("━│"), "legend on a border:\n\(text)")
        }
    }

    func testFormSkipsBackboneForSegmenterAndClampsChoices() {
        var form = RunForm()
        XCTAssertEqual(form.configuration.recipe, .segmenter)
        for _ in 0..<5 { form.moveField(by: 1) }
        XCTAssertEqual(form.field, .maxSteps, "backbone is skipped for the segmenter")
        form.change(by: 1)
        XCTAssertEqual(form.configuration.maxStepsPerEpoch, 5)
        for _ in 0..<20 { form.change(by: 1) }
        XCTAssertEqual(form.value(of: .maxSteps), "200")
        form.field = .recipe
        form.change(by: 1)
        XCTAssertEqual(form.configuration.recipe, .classifier)
        XCTAssertEqual(form.configuration.maxStepsPerEpoch, 200, "quick-run settings survive a recipe switch")
        for _ in 0..<5 { form.moveField(by: 1) }
        XCTAssertEqual(form.field, .backbone)
        XCTAssertEqual(form.value(of: .backbone), "resnet18")
    }

    func testDashboardDrawsAStoredRunWithChartsAndLog() throws {
        let store = try RunStore(workspace: folder)
        let run = try store.createRun(configuration())
        for e in events(runID: run.id) + [.finished(status: .finished, bestEpoch: 1, bestValidationLoss: 0.5)] {
            try store.record(e, runID: run.id)
        }
        var pane = DashboardPane()
        pane.reloadRuns(store: store)
        XCTAssertEqual(pane.runs.map(\.id), [run.id])
        XCTAssertEqual(pane.openSelected(store: store), "opened \(run.id)")
        let style = PaneStyle(theme: .dark, glyphs: .unicode)
        var buffer = CellBuffer(columns: 120, rows: 36, fill: Cell(" ", foreground: RGB(0, 0, 0), background: RGB(0, 0, 0)))
        pane.draw(into: &buffer, rect: Rect(x: 0, y: 0, width: 120, height: 36), style: style)
        let text = buffer.plainText.joined(separator: "\n")
        for expected in ["Run: \(run.id)", "FINISHED", "best epoch 1", "Loss", "Dice", "Events", "opened from the run store"] {
            XCTAssertTrue(text.contains(expected), "missing \(expected):\n\(text)")
        }
        XCTAssertTrue(buffer.cells.contains { (0x2801...0x28FF).contains($0.character.value) }, "braille curves")
        pane.useBlocks = true
        pane.draw(into: &buffer, rect: Rect(x: 0, y: 0, width: 120, height: 36), style: style)
        XCTAssertFalse(buffer.cells.contains { (0x2801...0x28FF).contains($0.character.value) })
        XCTAssertTrue(buffer.cells.contains { ["\u{2580}", "\u{2584}"].contains($0.character) }, "block curves")
        XCTAssertTrue(pane.toggleComparison(store: store).hasSuffix("pick another run to compare it with"), "not with itself")
    }

    func testModeKeysSwitchTheWorkstationAndQuitStillWorks() throws {
        let workspace = try Workspace(url: folder)
        let source = MemorySliceSource(title: "memory", patients: [], slices: [:])
        MainActor.assumeIsolated {
            let screen = MemoryScreen(columns: 120, rows: 36, glyphMode: .ascii)
            let workbench = Workbench(workspace: workspace, dataPath: "/data", source: source)
            let app = App(screen: screen, source: source, theme: .dark, themeDirectories: [], workbench: workbench)
            @MainActor func text() -> String { app.frame().plainText.joined(separator: "\n") }
            app.handle(.key(.character("D")))
            XCTAssertEqual(workbench.mode, .dashboard)
            XCTAssertTrue(text().contains("New run"))
            XCTAssertTrue(text().contains("DASHBOARD"))
            app.handle(.key(.right))
            XCTAssertEqual(workbench.dashboard.form.configuration.recipe, .classifier, "arrows edit the form")
            XCTAssertTrue(text().contains("< classifier >"), "ASCII arrows in ASCII mode")
            app.handle(.key(.character("T")))
            XCTAssertTrue(text().contains("Triage needs a classifier run and a segmenter run"))
            app.handle(.key(.escape))
            XCTAssertEqual(workbench.mode, .browse)
            XCTAssertFalse(text().contains("DASHBOARD"))
            app.handle(.key(.character("D")))
            app.handle(.key(.character("q")))
            XCTAssertFalse(app.isRunning, "q quits from the dashboard too")
        }
    }
}
