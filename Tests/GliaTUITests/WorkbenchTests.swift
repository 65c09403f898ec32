// The workbench's modes through the key table: closing a triage session stays closed, and quitting
// with a live run asks first.
import Foundation
import GliaData
import GliaTraining
import GliaTUI
import XCTest

final class WorkbenchTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-workbench-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func testEscClosesTheTriageSessionForGoodAndBThenTReturnsToThePicker() throws {
        let workspace = try Workspace(url: folder)
        let runs = RunStore(workspace: workspace)
        for recipe in [RecipeKind.classifier, .segmenter] {
            let run = try runs.createRun(RunConfiguration.defaults(for: recipe, dataPath: "/d"))
            // Not a real checkpoint: the session opens, its predictions fail in the background.
            try Data().write(to: runs.folder(for: run.id).appendingPathComponent("best.safetensors"))
        }
        MainActor.assumeIsolated {
            let source = AppTests.source()
            let workbench = Workbench(workspace: workspace, dataPath: "/d", source: source)
            let screen = MemoryScreen(columns: 130, rows: 40)
            let app = App(screen: screen, source: source, theme: .dark, themeDirectories: [], workbench: workbench)
            for key in [Key.character("T"), .enter] { app.handle(.key(key)) }
            XCTAssertNotNil(workbench.triage.session)
            // At 80x24 the panel's keys stay inside its box.
            screen.resize(columns: 80, rows: 24)
            let small = app.frame().plainText
            for y in 2..<22 { XCTAssertEqual(small[y].last, "│", "row \(y): \(small[y])") }
            let panel = small.joined(separator: "\n")
            for entry in ["a accept", "r reject", "f flag", "1 as is", "2 minor fixes", "3 major fixes", "4 wrong / not seen", "l list"] {
                XCTAssertTrue(panel.contains(entry), "\(entry) in the compact key panel:\n\(panel)")
            }
            screen.resize(columns: 130, rows: 40)
            XCTAssertEqual(app.activeModes, [.triage, .image, .global])
            app.handle(.key(.character("j")))
            app.handle(.key(.escape))
            XCTAssertNil(workbench.triage.session, "Esc closes the session")
            XCTAssertNil(workbench.triage.cache)
            XCTAssertEqual(app.activeModes, [.picker, .global])
            for key in [Key.character("B"), .character("T")] { app.handle(.key(key)) }
            XCTAssertNil(workbench.triage.session, "B then T does not bring the closed session back")
            XCTAssertTrue(app.frame().plainText.joined(separator: "\n").contains("Classifier run"))
            // A note typed before the decision survives Enter and is saved with the decision.
            app.handle(.key(.enter))
            for key in [Key.character("m"), .character("o"), .character("k"), .enter, .character("f")] { app.handle(.key(key)) }
            XCTAssertEqual(workbench.triage.session?.currentDecision?.note, "ok")
            XCTAssertEqual(workbench.triage.session?.currentDecision?.decision, .flag)
        }
    }

    func testQuitWithoutALiveRunQuitsAtOnce() {
        MainActor.assumeIsolated {
            let source = AppTests.source()
            let workbench = Workbench(workspace: nil, workspaceProblem: "none", dataPath: "/d", source: source)
            let app = App(screen: MemoryScreen(columns: 130, rows: 40), source: source, theme: .dark, themeDirectories: [],
                          workbench: workbench)
            app.handle(.key(.control("c")))
            XCTAssertFalse(app.quitQuestion)
            XCTAssertFalse(app.isRunning)
            XCTAssertTrue(app.interrupted, "Ctrl-C ends the workstation as interrupted")
        }
    }
}
