// Background predictions for triage: nearest the focus first, masks kept only near the focus,
// Dice computed against the ground truth. Two tiny models are trained on a small phantom set.
import Foundation
import GliaCore
import GliaData
import GliaTraining
import GliaTUI
import XCTest

final class TriagePredictionTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-triage-predict-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    private func train(_ recipe: RecipeKind, data: URL, store: RunStore) async throws -> String {
        var c = RunConfiguration.defaults(for: recipe, dataPath: data.path)
        c.epochs = 1
        c.maxStepsPerEpoch = 1
        c.batchSize = 4
        c.imageSize = recipe == .segmenter ? 64 : 128
        c.backbone = "resnet10"
        let run = try TrainingRun.start(c, store: store)
        let status = await run.actor.run()
        await run.recording.value
        XCTAssertEqual(status, .finished)
        return run.runID
    }

    func testPredictsNearestTheFocusFirstAndKeepsMasksNearIt() async throws {
        let data = folder.appendingPathComponent("data")
        _ = try Phantom.write(to: data, configuration: Phantom.Configuration(patients: 4, slices: 6...8, seed: 7))
        let store = try RunStore(workspace: folder.appendingPathComponent("workspace"))
        let segmenter = try await train(.segmenter, data: data, store: store)
        let classifier = try await train(.classifier, data: data, store: store)
        let source = DatasetSource(index: try DatasetIndex.load(data), title: "phantom")
        let order = source.patients.flatMap { p in p.slices.map { SliceKey(patient: p.id, slice: $0.number) } }
        let focus = order.count / 2
        let cache = PredictionCache(classifier: classifier, segmenter: segmenter, store: store, source: source,
                                    order: order, focus: focus, maskCapacity: 6)
        defer { cache.cancel() }

        // At every moment the computed slices form one run around the focus: nothing farther is
        // computed while something nearer is missing.
        let deadline = Date().addingTimeInterval(60)
        while cache.computedCount < order.count, Date() < deadline {
            let done = cache.results
            if let farthest = done.keys.compactMap({ order.firstIndex(of: $0) }).map({ abs($0 - focus) }).max(), farthest > 0 {
                for distance in 0..<farthest {
                    for i in [focus - distance, focus + distance] where order.indices.contains(i) {
                        XCTAssertNotNil(done[order[i]], "slice at distance \(distance) missing while \(farthest) is done")
                    }
                }
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTAssertNil(cache.failure)
        XCTAssertEqual(cache.computedCount, order.count)

        let results = cache.results
        let withMasks = results.filter { $0.value.mask != nil }
        XCTAssertLessThanOrEqual(withMasks.count, 6, "masks kept at most maskCapacity")
        // The gate threshold is the one chosen on validation and stored with the classifier.
        let gate = try TwoStagePipeline(classifier: try TrainedModel.load(classifier, store: store), segmenter: nil).gateThreshold
        for (key, p) in results {
            XCTAssertNotNil(p.probability)
            XCTAssertEqual(p.flagged, (p.probability ?? 0) >= gate)
            // Dice against the truth, recomputed here from the kept mask (or an empty one).
            guard p.mask != nil || !p.flagged else { continue }
            let truth = try source.load(patient: key.patient, slice: key.slice).truth!
            let predicted = p.mask?.pixels ?? [UInt8](repeating: 0, count: truth.pixels.count)
            XCTAssertEqual(p.dice ?? -1, try MaskOverlap(predicted: predicted, truth: truth.pixels).dice, accuracy: 1e-12)
            XCTAssertEqual(p.truthArea, truth.area)
        }
        // Moving the focus far away brings masks back for the slices near it (capacity 6: 2 either side).
        cache.setFocus(0)
        let flaggedNearStart = order.prefix(3).filter { results[$0]?.flagged == true }
        let refill = Date().addingTimeInterval(30)
        while Date() < refill, flaggedNearStart.contains(where: { cache.prediction(for: $0)?.mask == nil }) {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        for key in flaggedNearStart { XCTAssertNotNil(cache.prediction(for: key)?.mask, "\(key) re-predicted near the new focus") }
    }
}
