import Foundation
import GliaCore
import GliaData
import GliaTraining
import XCTest

/// Bilinear upsampling of low-resolution mask probabilities, and flip test-time augmentation.
final class InferenceOptionsTests: XCTestCase {
    func testBilinearUpsamplingOfARampMatchesAlignCornersFalse() {
        // Column ramp 0, 1, 2, 3 (channel 0) and 10x it (channel 1), constant down the rows.
        let ramp = Tensor(shape: [1, 4, 4, 2]) { i in Float((i / 2) % 4) * (i % 2 == 0 ? 1 : 10) }
        let up = TwoStagePipeline.upsampleBilinear(ramp, to: 8)
        XCTAssertEqual(up.shape, [1, 8, 8, 2])
        // PyTorch, F.interpolate(x, size=8, mode="bilinear", align_corners=False) on [0, 1, 2, 3]:
        // centres map to (i + 0.5) / 2 - 0.5, clamped to [0, 3].
        let expected: [Float] = [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]
        for y in 0..<8 {
            for x in 0..<8 {
                XCTAssertEqual(up[0, y, x, 0], expected[x], accuracy: 1e-6, "row \(y) column \(x)")
                XCTAssertEqual(up[0, y, x, 1], 10 * expected[x], accuracy: 1e-5, "row \(y) column \(x)")
            }
        }
        // The same ramp down the rows (transposed input) comes back transposed.
        let rows = Tensor(shape: [1, 4, 4, 1]) { i in Float(i / 4) }
        let upRows = TwoStagePipeline.upsampleBilinear(rows, to: 8)
        for y in 0..<8 { XCTAssertEqual(upRows[0, y, 5, 0], expected[y], accuracy: 1e-6) }
        // At the target size nothing changes.
        XCTAssertEqual(TwoStagePipeline.upsampleBilinear(ramp, to: 4), ramp)
    }

    func testBilinearThresholdFollowsTheEdgeAtFullResolution() {
        // A 2x2 probability map with one confident corner: nearest-neighbour upsampling would give a
        // 2x2-block quadrant; bilinear gives a corner region bounded by the 0.5 level set instead.
        let p = Tensor(shape: [1, 2, 2, 1], scalars: [1, 0, 0, 0])
        let up = TwoStagePipeline.upsampleBilinear(p, to: 8)
        let above = (0..<64).filter { up.scalars[$0] > 0.5 }.count
        XCTAssertGreaterThan(above, 0)
        XCTAssertLessThan(above, 16, "smaller than the quadrant nearest-neighbour upsampling would fill")
        XCTAssertEqual(up[0, 0, 0, 0], 1, accuracy: 1e-6)
        XCTAssertEqual(up[0, 7, 7, 0], 0, accuracy: 1e-6)
    }

    /// A random small ResUNet trained at 32 px, saved and loaded as a checkpoint.
    private func randomSegmenter() throws -> TrainedModel {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glia-tta-\(UUID().uuidString).safetensors")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        var run = RunConfiguration.defaults(for: .segmenter, dataPath: "/unused")
        run.imageSize = 32
        let json = String(decoding: try JSONEncoder().encode(run), as: UTF8.self)
        try Checkpoint.saveModel(try ResUNet(configuration: ResUNetConfiguration(filters: [2, 4]), seed: 3), to: url,
                                 metadata: ["glia.run": json])
        let model = try TrainedModel.load(url.path, store: nil)
        XCTAssertEqual(model.imageSize, 32)
        return model
    }

    /// `x` mirrored left to right ([N, H, W, C]).
    private func mirrored(_ x: Tensor) -> Tensor {
        let (_, _, w, c) = x.nhwc
        return Tensor(shape: x.shape) { i in
            let ch = i % c, column = (i / c) % w, row = i / (c * w)
            return x.scalars[(row * w + (w - 1 - column)) * c + ch]
        }
    }

    private func largestDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }

    func testFlipAugmentationIsSymmetricOnASymmetricImage() throws {
        var pipeline = try TwoStagePipeline(classifier: nil, segmenter: try randomSegmenter())
        var random = RandomGenerator(seed: 11)
        let noise = Tensor(shape: [2, 256, 256, 3]) { _ in random.nextUniform() }
        let reflection = mirrored(noise)
        // Left half random, right half its mirror image.
        let symmetric = Tensor(shape: noise.shape) { i in (i / 3) % 256 < 128 ? noise.scalars[i] : reflection.scalars[i] }
        XCTAssertEqual(largestDifference(symmetric, mirrored(symmetric)), 0)
        let plain = try XCTUnwrap(pipeline.maskProbabilities(symmetric))
        XCTAssertGreaterThan(largestDifference(plain, mirrored(plain)), 1e-4,
                             "a random model is not symmetric by itself, or this test could not fail")
        pipeline.flipTestTimeAugmentation = true
        let augmented = try XCTUnwrap(pipeline.maskProbabilities(symmetric))
        XCTAssertEqual(augmented.shape, [2, 256, 256, 1])
        XCTAssertLessThan(largestDifference(augmented, mirrored(augmented)), 1e-5)
    }

    func testFlipAugmentationIsTheMeanOfBothPredictions() throws {
        var pipeline = try TwoStagePipeline(classifier: nil, segmenter: try randomSegmenter())
        var random = RandomGenerator(seed: 12)
        let image = Tensor(shape: [1, 256, 256, 3]) { _ in random.nextUniform() }
        let direct = try XCTUnwrap(pipeline.maskProbabilities(image))
        let ofMirror = mirrored(try XCTUnwrap(pipeline.maskProbabilities(mirrored(image))))
        pipeline.flipTestTimeAugmentation = true
        let augmented = try XCTUnwrap(pipeline.maskProbabilities(image))
        let mean = Tensor(shape: direct.shape) { (direct.scalars[$0] + ofMirror.scalars[$0]) / 2 }
        XCTAssertLessThan(largestDifference(augmented, mean), 1e-5)
        XCTAssertGreaterThan(largestDifference(augmented, direct), 1e-4, "the augmentation changes the prediction")
        XCTAssert(augmented.scalars.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
    }
}
