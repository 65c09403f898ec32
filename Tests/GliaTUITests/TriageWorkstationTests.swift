// Triage in the workstation, driven by keys through the app: the queue is walked by default with its
// counts, its list opens on the current slice and Enter jumps; a run trained on another dataset (or
// the shipped models on a dataset that is not LGG) is named and needs a second Enter; the runs
// lists of the picker and the dashboard show each run's dataset and best validation metric.
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import GliaTraining
import GliaTUI
import XCTest

// Linux XCTest cannot call @MainActor test methods, so each test enters the main actor itself.
final class TriageWorkstationTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-triage-ws-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A classifier and a segmenter run trained on `dataPath`, with placeholder checkpoints (the
    /// session opens; predictions fail in the background) and best validation metrics 0.871 / 0.654.
    private func runs(dataPath: String) throws -> (Workspace, [String]) {
        let workspace = try Workspace(url: folder)
        let store = RunStore(workspace: workspace)
        var ids: [String] = []
        for (recipe, metric) in [(RecipeKind.classifier, Float(0.871)), (.segmenter, 0.654)] {
            let run = try store.createRun(RunConfiguration.defaults(for: recipe, dataPath: dataPath))
            try store.record(.epoch(EpochMetrics(epoch: 1, trainLoss: 0.5, trainMetric: 0.5, validationLoss: 0.4, validationMetric: metric,
                                                 learningRate: 1e-3, seconds: 1, isBest: true)), runID: run.id)
            try store.record(.finished(status: .finished, bestEpoch: 1, bestValidationLoss: 0.4), runID: run.id)
            try Data().write(to: store.folder(for: run.id).appendingPathComponent("best.safetensors"))
            ids.append(run.id)
        }
        return (workspace, ids)
    }

    @MainActor
    private static func text(_ app: App) -> String { app.frame().plainText.joined(separator: "\n") }

    func testTheQueueIsWalkedByDefaultWithCountsAndItsListJumps() throws {
        let (workspace, _) = try runs(dataPath: "/d")
        MainActor.assumeIsolated {
            let source = AppTests.source()
            let workbench = Workbench(workspace: workspace, dataPath: "/d", source: source)
            let screenSize = MemoryScreen(columns: 130, rows: 40)
            let app = App(screen: screenSize, source: source, theme: .dark, themeDirectories: [], workbench: workbench)
            for key in [Key.character("T"), .enter] { app.handle(.key(key)) }
            guard let session = workbench.triage.session else { return XCTFail("no session") }
            // The ground truth's tumor slices (every even slice) are queued before any prediction.
            let tumor = source.patients.flatMap { p in p.slices.filter { $0.hasTumor == true }.map { SliceKey(patient: p.id, slice: $0.number) } }
            XCTAssertTrue(session.queueOnly)
            XCTAssertEqual(session.order, tumor)
            var screen = Self.text(app)
            XCTAssertTrue(screen.contains("queue      10 of 21 slices"), screen)
            XCTAssertTrue(screen.contains("10 to do, 0 acc, 0 rej, 0 flag"), screen)
            XCTAssertTrue(screen.contains("slice 2  (1/10)"), screen)
            XCTAssertTrue(screen.contains("1 acceptable as is") && screen.contains("4 wrong location / not visible"), "rating meanings:\n\(screen)")

            app.handle(.key(.character("a")))
            XCTAssertTrue(Self.text(app).contains("9 to do, 1 acc"), "accepting counts and moves on")
            XCTAssertEqual(workbench.triage.session?.current, tumor[1])

            app.handle(.key(.character("l")))
            XCTAssertEqual(app.activeModes, [.queueList, .global])
            screen = Self.text(app)
            XCTAssertTrue(screen.contains("Queue 2/10  9 to do"), "the list opens on the current slice:\n\(screen)")
            XCTAssertNotNil(screen.range(of: #"TCGA_CS_4941_19960909\s+2\s+·\s+·\s+yes\s+·\s+accept"#, options: .regularExpression),
                            "the accepted slice's row:\n\(screen)")
            for key in [Key.character("j"), .character("j"), .character("j"), .enter] { app.handle(.key(key)) }
            XCTAssertNil(workbench.triage.queueList, "Enter closes the list")
            XCTAssertEqual(workbench.triage.session?.current, tumor[4])
            XCTAssertTrue(Self.text(app).contains("slice 4  (5/10)"))
            app.handle(.key(.character("l")))
            // At 80x24 a patient id too long for its column loses its scan date, not its patient number.
            screenSize.resize(columns: 80, rows: 24)
            let narrow = Self.text(app)
            XCTAssertNotNil(narrow.range(of: #"TCGA_CS_4941\s+2\s+·"#, options: .regularExpression), narrow)
            XCTAssertFalse(narrow.contains("TCGA_CS_4941_"), narrow)
            screenSize.resize(columns: 130, rows: 40)
            app.handle(.key(.escape))
            XCTAssertNil(workbench.triage.queueList, "Esc closes the list, not the session")
            XCTAssertNotNil(workbench.triage.session)

            app.handle(.key(.character("v")))
            screen = Self.text(app)
            XCTAssertTrue(screen.contains("all slices 21 slices"), screen)
            XCTAssertEqual(workbench.triage.session?.current, tumor[4], "the slice stays when every slice is walked")
        }
    }

    func testARunOfAnotherDatasetIsNamedAndNeedsASecondEnter() throws {
        let (workspace, ids) = try runs(dataPath: "/data/lgg")
        MainActor.assumeIsolated {
            let source = AppTests.source()
            let workbench = Workbench(workspace: workspace, dataPath: "/data/phantom", source: source)
            let app = App(screen: MemoryScreen(columns: 130, rows: 40), source: source, theme: .dark, themeDirectories: [],
                          workbench: workbench)
            app.handle(.key(.character("T")))
            XCTAssertEqual(workbench.triage.classifiers.first?.mismatch, "\(ids[0]) was trained on /data/lgg, not on the dataset open")
            app.handle(.key(.enter))
            XCTAssertNil(workbench.triage.session, "not opened silently")
            XCTAssertEqual(workbench.message?.text, "Enter again to triage anyway: \(ids[0]) was trained on /data/lgg, not on the dataset open")
            XCTAssertTrue(Self.text(app).contains("Enter again to triage anyway: \(ids[0]) was trained on /data/lgg"), "the status bar says it")
            app.handle(.key(.enter))
            XCTAssertEqual(workbench.triage.session?.modelRun, "\(ids[0])+\(ids[1])", "the second Enter opens it")
        }
        // The same runs on the dataset they were trained on open at once.
        MainActor.assumeIsolated {
            let source = AppTests.source()
            let workbench = Workbench(workspace: workspace, dataPath: "/data/lgg", source: source)
            let app = App(screen: MemoryScreen(columns: 130, rows: 40), source: source, theme: .dark, themeDirectories: [],
                          workbench: workbench)
            for key in [Key.character("T"), .enter] { app.handle(.key(key)) }
            XCTAssertNotNil(workbench.triage.session)
        }
    }

    func testTheShippedModelsOnADatasetWithoutItsPatientsAreNamed() throws {
        let models = folder.appendingPathComponent("models")
        try ShippedFixture.write(to: models, segmenter: ResUNetConfiguration(filters: [4, 8, 16]),
                                 split: (["TCGA_LGG_1"], ["TCGA_LGG_2"], ["TCGA_LGG_3"]))
        let shipped = ShippedModels(folder: models, searched: [models])
        let workspace = try Workspace(url: folder.appendingPathComponent("workspace"))
        var pane = TriagePane()
        pane.seenPatients = try shipped.seenPatients()
        pane.reloadRuns(store: RunStore(workspace: workspace), triageStore: TriageStore(workspace: workspace), shipped: shipped,
                        dataPath: "/phantom", patients: ["PHANTOM_001", "PHANTOM_002"])
        XCTAssertEqual(pane.classifiers.map(\.id), ["shipped"])
        XCTAssertEqual(pane.classifiers.first?.dataset, "LGG")
        XCTAssertEqual(pane.segmenters.first?.mismatch,
                       "the shipped models were trained on the LGG dataset, which has none of this dataset's patients")
        pane.reloadRuns(store: RunStore(workspace: workspace), triageStore: TriageStore(workspace: workspace), shipped: shipped,
                        dataPath: "/lgg", patients: ["TCGA_LGG_1", "TCGA_LGG_4"])
        XCTAssertNil(pane.segmenters.first?.mismatch, "a dataset with the LGG patients is the LGG dataset")
    }

    func testRunsListsShowTheDatasetAndTheBestValidationMetric() throws {
        let (workspace, ids) = try runs(dataPath: "/data/lgg")
        MainActor.assumeIsolated {
            let source = AppTests.source()
            let workbench = Workbench(workspace: workspace, dataPath: "/data/lgg", source: source)
            let app = App(screen: MemoryScreen(columns: 130, rows: 40), source: source, theme: .dark, themeDirectories: [],
                          workbench: workbench)
            app.handle(.key(.character("T")))
            let picker = Self.text(app)
            for pattern in [#"RUN\s+STATUS\s+DATA\s+ACC"#, #"RUN\s+STATUS\s+DATA\s+DICE"#,
                            NSRegularExpression.escapedPattern(for: ids[0]) + #"\s+finished\s+lgg\s+0\.871"#,
                            NSRegularExpression.escapedPattern(for: ids[1]) + #"\s+finished\s+lgg\s+0\.654"#] {
                XCTAssertNotNil(picker.range(of: pattern, options: .regularExpression), "\(pattern) in the picker:\n\(picker)")
            }
            app.handle(.key(.character("D")))
            let dashboard = Self.text(app)
            XCTAssertNotNil(dashboard.range(of: #"RUN\s+STATUS\s+DATA\s+VAL"#, options: .regularExpression), dashboard)
            for (id, metric) in zip(ids, ["0.87", "0.65"]) {
                XCTAssertNotNil(dashboard.range(of: RunLabel.fitting(id, width: 30).suffix(12) + #"\s+finished\s+lgg\s+"# + metric,
                                                options: .regularExpression), "\(id) in the dashboard's runs list:\n\(dashboard)")
            }
        }
    }
}
