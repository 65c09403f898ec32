// The workstation with shipped models and no training: the browser fills P(tumor) and the viewer's
// predicted mask from the background cache, patients the models learnt from are tagged, triage
// offers the shipped pair and the browser lists its decisions. Without shipped models the browser
// stays as it was and triage says where it looked.
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import GliaTraining
import GliaTUI
import XCTest

// Linux XCTest cannot call @MainActor test methods, so each test enters the main actor itself.
final class ShippedBrowserTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-shipped-tui-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A three-patient phantom set and a shipped folder whose split trains on the first patient,
    /// validates on the second and tests on the third.
    private func setUpData() throws -> (source: DatasetSource, shipped: ShippedModels, ids: [String]) {
        let data = folder.appendingPathComponent("data")
        _ = try Phantom.write(to: data, configuration: Phantom.Configuration(patients: 3, slices: 4...5, seed: 3))
        let source = DatasetSource(index: try DatasetIndex.load(data), title: "phantom")
        let ids = source.patients.map(\.id)
        let models = folder.appendingPathComponent("models")
        try ShippedFixture.write(to: models, segmenter: ResUNetConfiguration(filters: [4, 8, 16]),
                                 split: ([ids[0]], [ids[1]], [ids[2]]))
        return (source, ShippedModels(folder: models, searched: [models]), ids)
    }

    /// The rest of a patient row (site, slices, tumor slices) followed by `tag` in the Seen column.
    private static func seenColumn(_ tag: String) -> String { #"\s+\w+\s+\d+\s+\S+\s+"# + tag }

    private static func waitFor(_ what: String, timeout: Double = 60, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertTrue(condition(), "timed out waiting for \(what)")
    }

    func testBrowserShowsShippedPredictionsAndTagsSeenPatients() throws {
        let (source, shipped, ids) = try setUpData()
        let workspace = try Workspace(url: folder.appendingPathComponent("workspace"))
        try MainActor.assumeIsolated {
            let workbench = Workbench(workspace: workspace, dataPath: "", source: source, shipped: shipped)
            let app = App(screen: MemoryScreen(columns: 130, rows: 40), source: source, theme: .dark, themeDirectories: [],
                          workbench: workbench)
            let cache = try XCTUnwrap(workbench.browserCache, "shipped models predict without any training")
            XCTAssertEqual(workbench.browserModelRun, "shipped+shipped")
            let first = SliceKey(patient: ids[0], slice: source.patients[0].slices[0].number)
            Self.waitFor("the first slice's prediction") { cache.prediction(for: first) != nil }
            XCTAssertNil(cache.failure)
            XCTAssertTrue(workbench.tick(now: Date().addingTimeInterval(1)), "a new prediction redraws the browser")

            var screen = app.frame().plainText.joined(separator: "\n")
            let p = try XCTUnwrap(cache.prediction(for: first)?.probability)
            let shown = BrowserPane.probabilityText(Double(p))
            XCTAssertTrue(screen.range(of: #"\s1\s+(no|● yes)\s+\S+\s+"# + NSRegularExpression.escapedPattern(for: shown),
                                       options: .regularExpression) != nil, "slice list P(tumor) column:\n\(screen)")
            XCTAssertFalse(screen.contains("prediction (none yet)"), "the viewer overlays the predicted mask")
            XCTAssertTrue(screen.contains("Seen"))
            XCTAssertNotNil(screen.range(of: ids[0] + Self.seenColumn("train"), options: .regularExpression), screen)
            XCTAssertTrue(screen.contains("seen by shipped models (train)"))

            app.handle(.key(.down))
            screen = app.frame().plainText.joined(separator: "\n")
            XCTAssertNotNil(screen.range(of: ids[1] + Self.seenColumn("val"), options: .regularExpression), screen)
            XCTAssertTrue(screen.contains("seen by shipped models (val)"))
            app.handle(.key(.down))
            screen = app.frame().plainText.joined(separator: "\n")
            XCTAssertFalse(screen.contains("seen by shipped models"), "a test patient is not marked")
            XCTAssertNil(screen.range(of: ids[2] + Self.seenColumn("(train|val)"), options: .regularExpression), screen)
        }
    }

    func testTriageOffersTheShippedPairAndTheBrowserListsItsDecisions() throws {
        let (source, shipped, ids) = try setUpData()
        let workspace = try Workspace(url: folder.appendingPathComponent("workspace"))
        try MainActor.assumeIsolated {
            let workbench = Workbench(workspace: workspace, dataPath: "", source: source, shipped: shipped)
            let app = App(screen: MemoryScreen(columns: 130, rows: 40), source: source, theme: .dark, themeDirectories: [],
                          workbench: workbench)
            app.handle(.key(.character("T")))
            XCTAssertEqual(workbench.triage.classifiers.last?.status, "shipped")
            XCTAssertEqual(workbench.triage.segmenters.last?.reference, shipped.segmenter?.path)
            app.handle(.key(.enter))
            let session = try XCTUnwrap(workbench.triage.session)
            XCTAssertEqual(session.modelRun, "shipped+shipped")
            XCTAssertTrue(workbench.browserCache === workbench.triage.cache, "one cache: the browser follows triage's pair")
            XCTAssertTrue(app.frame().plainText.joined(separator: "\n").contains("seen in training"))
            // Every slice (the queue is the default), so the decision falls on the first patient's first slice.
            app.handle(.key(.character("v")))
            app.handle(.key(.character("a")))
            app.handle(.key(.character("B")))
            XCTAssertEqual(workbench.browserDecisions[SliceKey(patient: ids[0], slice: source.patients[0].slices[0].number)], "accept")
            let screen = app.frame().plainText.joined(separator: "\n")
            XCTAssertTrue(screen.contains("accept"), "browser Triage column:\n\(screen)")
        }
    }

    func testWithoutShippedModelsTheBrowserIsUnchangedAndTriageSaysWhereItLooked() throws {
        let (source, _, _) = try setUpData()
        let nowhere = folder.appendingPathComponent("nowhere")
        let workspace = try Workspace(url: folder.appendingPathComponent("workspace"))
        MainActor.assumeIsolated {
            let workbench = Workbench(workspace: workspace, dataPath: "", source: source,
                                      shipped: ShippedModels(folder: nil, searched: [nowhere]))
            let app = App(screen: MemoryScreen(columns: 130, rows: 40), source: source, theme: .dark, themeDirectories: [],
                          workbench: workbench)
            XCTAssertNil(workbench.browserCache)
            let screen = app.frame().plainText.joined(separator: "\n")
            XCTAssertFalse(screen.contains("Seen"))
            XCTAssertTrue(screen.contains("prediction (none yet)"))
            app.handle(.key(.character("T")))
            XCTAssertTrue(workbench.triage.classifiers.isEmpty)
            XCTAssertEqual(workbench.message?.text.hasPrefix("no shipped models in \(nowhere.path); train with"), true)
        }
    }
}
