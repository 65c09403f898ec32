import Foundation
import GliaCore
import GliaTestSupport
import GliaTraining
import XCTest

/// A MaskGate over the segmenter's own weights lets the pipeline run the ResUNet once per batch; the
/// shared pass must give exactly what the two separate passes give.
final class SharedPassTests: XCTestCase {
    private var files: [URL] = []

    override func tearDown() {
        for f in files { try? FileManager.default.removeItem(at: f) }
    }

    private func save(_ model: any Model) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shared-\(UUID()).safetensors")
        files.append(url)
        try Checkpoint.saveModel(model, to: url)
        return url.path
    }

    func testSharedPassEqualsSeparatePasses() throws {
        let configuration = ResUNetConfiguration(filters: [4, 8])
        let resunet = try ResUNet(configuration: configuration, seed: 5)
        let gate = try MaskGate(configuration: MaskGateConfiguration(segmenter: configuration), seed: 9)
        for (t, s) in zip(gate.segmenter.parameters, resunet.parameters) { t.value = s.value }
        gate.weight.value.scalars = [0.5, 3]
        let segmenter = try TrainedModel.load(try save(resunet), store: nil)
        let pipeline = try TwoStagePipeline(classifier: try TrainedModel.load(try save(gate), store: nil),
                                            segmenter: segmenter)
        XCTAssertTrue(pipeline.sharesSegmenter)
        let images = GradientCheck.randomTensor([2, 256, 256, 3], seed: 4, scale: 0.3)
        let (probabilities, masks, evidence) = pipeline.stages(images)
        XCTAssertEqual(probabilities, pipeline.tumorProbabilities(images))
        XCTAssertEqual(masks, pipeline.maskProbabilities(images))
        let predictions = pipeline.predict(images)
        XCTAssertEqual(predictions.compactMap(\.probability), try XCTUnwrap(probabilities))
        XCTAssertEqual(segmenter.imageSize, 256)
        XCTAssertEqual(evidence, MaskEvidence.of(masks: resunet.forward(images, mode: .inference)))

        // A gate over other weights does not share.
        let other = try MaskGate(configuration: MaskGateConfiguration(segmenter: configuration), seed: 11)
        let separate = try TwoStagePipeline(classifier: try TrainedModel.load(try save(other), store: nil),
                                            segmenter: segmenter)
        XCTAssertFalse(separate.sharesSegmenter)
    }
}
