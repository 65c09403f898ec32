// The segmenter's own mask where the classifier says no tumor: the pipeline gives it only when
// asked, the prediction cache computes it near the focus (everywhere when the pass is shared), and
// the viewer draws it in a dimmed prediction colour, named in the caption, or not at all when hidden.
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import GliaTraining
import GliaTUI
import XCTest

final class UnflaggedMaskTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-unflagged-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Untrained stand-in models (a narrow segmenter) and a small phantom set.
    private func setUp() throws -> (models: URL, source: DatasetSource) {
        let models = folder.appendingPathComponent("models")
        try ShippedFixture.write(to: models, segmenter: ResUNetConfiguration(filters: [4, 8, 16]))
        let data = folder.appendingPathComponent("data")
        _ = try Phantom.write(to: data, configuration: Phantom.Configuration(patients: 2, slices: 5...6, seed: 5))
        return (models, DatasetSource(index: try DatasetIndex.load(data), title: "phantom"))
    }

    func testThePipelineSegmentsUnflaggedSlicesOnlyWhenAsked() throws {
        let (models, source) = try setUp()
        var pipeline = try TwoStagePipeline(
            classifier: try TrainedModel.load(models.appendingPathComponent("classifier.safetensors").path, store: nil),
            segmenter: try TrainedModel.load(models.appendingPathComponent("segmenter.safetensors").path, store: nil))
        let patient = source.patients[0]
        let images = try patient.slices.prefix(2).map { try source.load(patient: patient.id, slice: $0.number).image }
        let batch = TwoStagePipeline.batch(images)
        pipeline.gateThreshold = 2  // the classifier flags nothing
        XCTAssertTrue(pipeline.predict(batch).allSatisfy { !$0.flagged && $0.mask == nil && $0.unflaggedMask == nil })
        let asked = pipeline.predict(batch, segmentUnflagged: true)
        XCTAssertTrue(asked.allSatisfy { !$0.flagged && $0.mask == nil && $0.unflaggedMask?.width == 256 })
        pipeline.gateThreshold = 0  // the classifier flags everything
        let flagged = pipeline.predict(batch, segmentUnflagged: true)
        XCTAssertTrue(flagged.allSatisfy { $0.flagged && $0.unflaggedMask == nil })
        XCTAssertEqual(flagged.map { $0.mask?.pixels }, asked.map { $0.unflaggedMask?.pixels }, "the same segmenter, the same masks")
    }

    func testTheCacheComputesTheUnflaggedMaskNearTheFocus() throws {
        let (models, source) = try setUp()
        let order = source.patients.flatMap { p in p.slices.map { SliceKey(patient: p.id, slice: $0.number) } }
        // Capacity 5: a window of 2 slices either side of the focus.
        let cache = PredictionCache(classifier: models.appendingPathComponent("classifier.safetensors").path,
                                    segmenter: models.appendingPathComponent("segmenter.safetensors").path, store: nil,
                                    source: source, order: order, focus: 0, maskCapacity: 5)
        defer { cache.cancel() }
        // Done: every slice has a result, and the three nearest the focus have all their masks.
        func settled() -> Bool {
            cache.computedCount == order.count && order.prefix(3).allSatisfy { key in
                cache.prediction(for: key).map { !$0.unflaggedMaskPending && !$0.maskDropped } ?? false
            }
        }
        let deadline = Date().addingTimeInterval(120)
        while !settled(), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertNil(cache.failure)
        let results = cache.results
        XCTAssertEqual(results.count, order.count)
        for (i, key) in order.enumerated() {
            let p = try XCTUnwrap(results[key])
            if p.flagged {
                XCTAssertNil(p.unflaggedArea, "\(key): a flagged slice has the pipeline's own mask")
            } else if i <= 2 {
                XCTAssertNotNil(p.unflaggedArea, "\(key): near the focus the segmenter ran")
                XCTAssertEqual(p.unflaggedMask?.area ?? 0, p.unflaggedArea)
            } else {
                XCTAssertTrue(p.unflaggedArea != nil || p.unflaggedMaskPending, "\(key): computed, or wanted when the focus comes near")
            }
        }
    }

    func testTheViewerDrawsTheSegmenterOnlyMaskDimmedAndNamed() {
        var own = [UInt8](repeating: 0, count: 256)
        for y in 4..<12 { for x in 4..<12 { own[y * 16 + x] = 1 } }
        let mask = SliceMask(width: 16, height: 16, pixels: own)
        var unflagged = CachedPrediction(probability: 0.1, flagged: false, mask: nil, predictedArea: 0, dice: 1, truthArea: 0,
                                         unflaggedMask: mask, unflaggedArea: 64)
        let overlay = PredictionOverlay.of(unflagged, width: 16, height: 16, showUnflagged: true)
        XCTAssertEqual(overlay?.segmenterOnly, true)
        XCTAssertEqual(overlay?.mask, mask)
        let hidden = PredictionOverlay.of(unflagged, width: 16, height: 16, showUnflagged: false)
        XCTAssertEqual(hidden?.segmenterOnly, false)
        XCTAssertEqual(hidden?.mask.area, 0, "hidden: the pipeline's answer, an empty mask")
        unflagged.flagged = true
        unflagged.mask = mask
        XCTAssertEqual(PredictionOverlay.of(unflagged, width: 16, height: 16, showUnflagged: true)?.segmenterOnly, false,
                       "a flagged slice shows the pipeline's mask in full colour")
        unflagged.maskDropped = true
        XCTAssertNil(PredictionOverlay.of(unflagged, width: 16, height: 16, showUnflagged: true))

        let style = PaneStyle(theme: .dark, glyphs: .unicode)
        let full = Theme.dark.overlayPrediction
        let dimmed = full.blended(with: Theme.dark.viewerBackground, alpha: PredictionOverlay.dimming)
        let image = SliceImage(width: 16, height: 16, channels: 3, pixels: [UInt8](repeating: 90, count: 768))
        func colours(_ overlay: PredictionOverlay) -> Set<RGB> {
            var viewer = ViewerPane()
            var buffer = CellBuffer(columns: 40, rows: 20, fill: Cell(" ", foreground: RGB(0, 0, 0), background: RGB(0, 0, 0)))
            viewer.draw(into: &buffer, rect: Rect(x: 0, y: 0, width: 40, height: 20), focused: true, style: overlay.style(style),
                        slice: LoadedSlice(image: image, truth: nil, prediction: overlay.mask), sliceID: "s" + overlay.cacheSuffix,
                        caption: "slice" + overlay.captionNote, message: nil)
            return Set(buffer.cells.flatMap { [$0.foreground, $0.background] })
        }
        let drawn = colours(PredictionOverlay(mask: mask, segmenterOnly: true))
        XCTAssertTrue(drawn.contains(dimmed), "the outline in the dimmed colour")
        XCTAssertFalse(drawn.contains(full), "never in the prediction's own colour")
        XCTAssertTrue(colours(PredictionOverlay(mask: mask, segmenterOnly: false)).contains(full))
        XCTAssertEqual(PredictionOverlay(mask: mask, segmenterOnly: true).captionNote, "  segmenter only, dimmed")
    }
}
