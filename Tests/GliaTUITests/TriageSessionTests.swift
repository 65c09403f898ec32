// Triage decisions: every decision goes to the workspace database at once, a new session resumes
// where the last stopped (queue or every slice included), orderings sort by the predictions, the
// queue is walked by default, and the CSV export has every field.
import Foundation
import GliaTraining
import GliaTUI
import XCTest

final class TriageSessionTests: XCTestCase {
    private var folder: URL!
    private let slices = (1...5).map { SliceKey(patient: "P1", slice: $0) } + (1...3).map { SliceKey(patient: "P2", slice: $0) }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-triage-ui-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    private func store() throws -> TriageStore { TriageStore(workspace: try Workspace(url: folder)) }

    /// A session of `modelRun` walking every slice (the queue is the default).
    private func everySlice(_ modelRun: String) throws -> TriageSession {
        var session = try TriageSession(modelRun: modelRun, slices: slices, store: try store())
        if session.queueOnly { session.toggleQueue(predictions: [:]) }
        return session
    }

    func testThePairTriagedLastIsPreselectedAfterARestart() throws {
        let workspace = try Workspace(url: folder)
        let runs = RunStore(workspace: workspace)
        var ids: [String] = []
        for (i, recipe) in [RecipeKind.classifier, .classifier, .segmenter, .segmenter].enumerated() {
            let run = try runs.createRun(RunConfiguration.defaults(for: recipe, dataPath: "/d"),
                                         now: Date(timeIntervalSince1970: Double(1_800_000_000 + i * 60)))
            try Data().write(to: runs.folder(for: run.id).appendingPathComponent("best.safetensors"))
            ids.append(run.id)
        }
        var pane = TriagePane()
        pane.reloadRuns(store: runs, triageStore: TriageStore(workspace: workspace))
        XCTAssertEqual(pane.classifiers[pane.classifierCursor.selected].id, ids[1], "newest classifier first")
        XCTAssertEqual(pane.segmenters[pane.segmenterCursor.selected].id, ids[3], "newest segmenter first")

        // The older pair was triaged last: a restarted workstation offers it again.
        try TriageStore(workspace: workspace).savePosition(
            TriagePosition(modelRun: "\(ids[0])+\(ids[2])", ordering: "patient", patientID: "P1", sliceNumber: 2))
        var restarted = TriagePane()
        restarted.reloadRuns(store: RunStore(workspace: try Workspace(url: folder)), triageStore: try store())
        XCTAssertEqual(restarted.classifiers[restarted.classifierCursor.selected].id, ids[0])
        XCTAssertEqual(restarted.segmenters[restarted.segmenterCursor.selected].id, ids[2])
    }

    func testDecisionsAreStoredAtOnceAndTheSessionResumes() throws {
        var session = try everySlice("c1+s1")
        XCTAssertEqual(session.current, slices[0])
        session.move(by: 2)
        session.decide(.reject)
        XCTAssertTrue(session.status?.text.hasPrefix("saved reject, slice 3,") == true, "\(String(describing: session.status))")
        session.rate(.wrong)
        session.setNote("misses the rim, edge case")
        session.move(by: 4)
        session.rate(.acceptable)
        XCTAssertEqual(session.pendingRating, .acceptable, "a rating waits for a decision")
        session.decide(.accept)
        session.move(by: -1)

        // A fresh store on the same folder (as after a kill -9 and restart) sees it all.
        let reopened = try TriageSession(modelRun: "c1+s1", slices: slices, store: try store())
        XCTAssertFalse(reopened.queueOnly, "walking every slice is restored")
        XCTAssertEqual(reopened.current, SliceKey(patient: "P2", slice: 1))
        XCTAssertEqual(reopened.decisions.count, 2)
        let reject = reopened.decisions[SliceKey(patient: "P1", slice: 3)]
        XCTAssertEqual(reject?.decision, .reject)
        XCTAssertEqual(reject?.rating, .wrong)
        XCTAssertEqual(reject?.note, "misses the rim, edge case")
        XCTAssertEqual(reopened.decisions[SliceKey(patient: "P2", slice: 2)]?.rating, .acceptable)
        // Another model pair has its own decisions and position.
        let other = try TriageSession(modelRun: "c2+s1", slices: slices, store: try store())
        XCTAssertTrue(other.decisions.isEmpty)
        XCTAssertEqual(other.index, 0)
        XCTAssertTrue(other.queueOnly, "a new session walks its queue")

        let csv = try store().exportCSV().split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.count, 3)
        XCTAssertEqual(csv[0], "patient,slice,model_run,decision,rating,rating_label,note,time,shipped_split")
        XCTAssertTrue(csv[1].hasPrefix("P1,3,c1+s1,reject,4,wrong location / not visible,\"misses the rim, edge case\",20"), csv[1])
        XCTAssertTrue(csv[2].hasPrefix("P2,2,c1+s1,accept,1,acceptable as is,,20"), csv[2])
    }

    func testANoteBeforeTheDecisionIsKeptAndSavedWithItAndNextUndecidedSkipsDecidedSlices() throws {
        var session = try everySlice("c+s")
        session.setNote("written first")
        XCTAssertEqual(session.status?.isError, false)
        XCTAssertEqual(session.noteShown, "written first")
        XCTAssertTrue(try store().decisions().isEmpty, "nothing is saved without a decision")
        session.decide(.flag)
        XCTAssertEqual(try store().decisions().first?.note, "written first", "the note typed before the decision is kept")
        XCTAssertNil(session.pendingNote)
        session.move(by: 1)
        session.decide(.accept)
        session.move(by: -1)
        XCTAssertTrue(session.moveToNextUndecided())
        XCTAssertEqual(session.current, slices[2])
    }

    func testTheQueueIsTheDefaultHoldsTumorAndDisagreementSlicesGrowsWithPredictionsAndCounts() throws {
        func prediction(_ p: Float, predicted: Int, truth: Int) -> CachedPrediction {
            CachedPrediction(probability: p, flagged: p >= 0.5, mask: nil, predictedArea: predicted, dice: nil, truthArea: truth)
        }
        var predictions: [SliceKey: CachedPrediction] = [
            slices[0]: prediction(0.1, predicted: 0, truth: 0),   // all agree: nothing
            slices[1]: prediction(0.9, predicted: 40, truth: 50), // tumor
            slices[2]: prediction(0.2, predicted: 0, truth: 30),  // missed: disagreement
        ]
        // P2 slice 2 has a tumor in the ground truth: queued before any prediction.
        var session = try TriageSession(modelRun: "c+s", slices: slices, store: try store(), truthTumor: [slices[6]])
        XCTAssertTrue(session.queueOnly, "the queue is the default")
        XCTAssertEqual(session.order, [slices[6]])
        XCTAssertEqual(session.current, slices[6])
        XCTAssertTrue(session.refreshQueue(predictions: predictions))
        XCTAssertEqual(session.order, [slices[1], slices[2], slices[6]])
        XCTAssertEqual(session.current, slices[1], "the cursor goes to the first queued slice from where the session starts")
        session.move(by: 1)
        predictions[slices[7]] = prediction(0.7, predicted: 0, truth: 0)  // the classifier alone says tumor
        XCTAssertTrue(session.refreshQueue(predictions: predictions))
        XCTAssertEqual(session.order, [slices[1], slices[2], slices[6], slices[7]])
        XCTAssertEqual(session.current, slices[2], "the slice under the cursor stays")
        session.decide(.accept, advance: true)
        session.decide(.flag)
        let counts = session.counts
        XCTAssertEqual([counts.toDo, counts.accepted, counts.rejected, counts.flagged], [2, 1, 0, 1])
        session.toggleQueue(predictions: predictions)
        XCTAssertFalse(session.queueOnly)
        XCTAssertEqual(session.order.count, slices.count, "v walks every slice")
        XCTAssertEqual(session.current, slices[6])
        XCTAssertTrue(session.jump(to: slices[0]))
        session.toggleQueue(predictions: predictions)
        XCTAssertEqual(session.current, slices[1], "a slice outside the queue gives the next queued one")
    }

    func testAResumedQueueWaitsForItsSliceAndTakesItWhenItArrives() throws {
        func tumor(_ truth: Int) -> CachedPrediction {
            CachedPrediction(probability: 0.9, flagged: true, mask: nil, predictedArea: 10, dice: 0.5, truthArea: truth)
        }
        var predictions = [slices[1]: tumor(5), slices[2]: tumor(5), slices[6]: tumor(20)]
        var first = try TriageSession(modelRun: "c+s", slices: slices, store: try store(), predictions: predictions)
        XCTAssertTrue(first.jump(to: slices[6]))
        XCTAssertFalse(first.jump(to: slices[0]), "slice 1 is not in the queue")

        predictions.removeValue(forKey: slices[6])
        var resumed = try TriageSession(modelRun: "c+s", slices: slices, store: try store(), predictions: predictions)
        XCTAssertTrue(resumed.queueOnly)
        XCTAssertEqual(resumed.anchor, slices[6])
        XCTAssertEqual(resumed.current, slices[2], "until P2 slice 2 is predicted, the nearest queued slice before it")
        predictions[slices[6]] = tumor(20)
        XCTAssertTrue(resumed.refreshQueue(predictions: predictions))
        XCTAssertEqual(resumed.current, slices[6], "the resumed slice once it is queued")
    }

    func testAcceptMovesToTheNextSliceAndKeepsTheSavedStatus() throws {
        var session = try everySlice("c+s")
        session.decide(.accept, advance: true)
        XCTAssertEqual(session.current, slices[1])
        XCTAssertTrue(session.status?.text.hasPrefix("saved accept, slice 1,") == true, "\(String(describing: session.status))")
        session.decide(.reject, advance: false)
        XCTAssertEqual(session.current, slices[1], "reject stays for a rating or a note")
        session.moveToEnd(last: true)
        session.decide(.accept, advance: true)
        XCTAssertEqual(session.current, slices.last, "the last slice has nowhere to go")
    }

    func testOrderingsSortByProbabilityAndDisagreementKeepingTheCurrentSlice() throws {
        func prediction(_ p: Float, dice: Double?, truth: Int?) -> CachedPrediction {
            CachedPrediction(probability: p, flagged: p >= 0.5, mask: nil, predictedArea: 0, dice: dice, truthArea: truth)
        }
        let predictions: [SliceKey: CachedPrediction] = [
            slices[0]: prediction(0.2, dice: 1, truth: 0),      // disagreement 0.2
            slices[1]: prediction(0.9, dice: 0.3, truth: 100),  // 0.7
            slices[2]: prediction(0.6, dice: 0.9, truth: 50),   // 0.4
            slices[3]: prediction(0.95, dice: nil, truth: nil), // no truth: unknown disagreement
        ]
        XCTAssertEqual(predictions[slices[1]]?.disagreement ?? 0, 0.7, accuracy: 1e-6)
        let byProbability = TriageSession.sorted(slices, by: .probability, predictions: predictions)
        XCTAssertEqual(Array(byProbability.prefix(4)), [slices[3], slices[1], slices[2], slices[0]])
        XCTAssertEqual(Array(byProbability.suffix(4)), Array(slices.suffix(4)), "unpredicted slices last, in patient order")
        let byDisagreement = TriageSession.sorted(slices, by: .disagreement, predictions: predictions)
        XCTAssertEqual(Array(byDisagreement.prefix(3)), [slices[1], slices[2], slices[0]])

        var session = try everySlice("c+s")
        session.move(by: 2)
        session.cycleOrdering(predictions: predictions)
        XCTAssertEqual(session.ordering, .probability)
        XCTAssertEqual(session.current, slices[2])
        XCTAssertEqual(session.index, 2)
        let saved = try store().position(modelRun: "c+s")
        XCTAssertEqual(saved?.ordering, "probability")
        XCTAssertEqual(saved?.sliceNumber, 3)
    }
}
