import Foundation
import GliaCore
import GliaTestSupport
import XCTest

final class MaskGateTests: XCTestCase {
    private let small = MaskGateConfiguration(segmenter: ResUNetConfiguration(filters: [4, 8]))

    func testFeaturesAreLogAreaAtFullSizeAndPeak() {
        // One 4x4 mask with 3 pixels above 0.5 (peak 0.9), one all below.
        var p = Tensor(shape: [2, 4, 4, 1])
        p.scalars[0] = 0.9; p.scalars[1] = 0.6; p.scalars[5] = 0.51; p.scalars[6] = 0.5
        p.scalars[16 + 3] = 0.4
        let f = MaskGate.features(ofMasks: p)
        // 3 of 16 pixels scale to 3 * 65536 / 16 pixels of a 256x256 slice.
        XCTAssertEqual(Double(f.scalars[0]), log(1 + 3 * 4096.0), accuracy: 1e-5)
        XCTAssertEqual(f.scalars[1], 0.9)
        XCTAssertEqual(f.scalars[2], 0)
        XCTAssertEqual(f.scalars[3], 0.4)
    }

    func testHeadGradientMatchesFiniteDifferences() throws {
        let gate = try MaskGate(configuration: small, seed: 3)
        let features = Tensor(shape: [3, 2], scalars: [0, 0.1, 4.2, 0.8, 9.5, 0.99])
        let labels = [0, 1, 1]
        gate.weight.value.scalars = [0.7, -1.3]
        gate.bias.value.scalars = [0.4]
        gate.zeroGradients()
        let logits = gate.forwardHead(features, mode: .training)
        gate.backwardHead(try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels).gradient)
        for parameter in [gate.weight, gate.bias] {
            let numeric = GradientCheck.numericGradient(
                indices: Array(0..<parameter.value.count), get: { parameter.value.scalars[$0] },
                set: { parameter.value.scalars[$0] = $1 }, epsilon: 1e-3,
                loss: { Double((try? SoftmaxCrossEntropy().evaluate(
                    logits: gate.forwardHead(features, mode: .inference), labels: labels).value) ?? .nan) })
            XCTAssertLessThan(GradientCheck.relativeError(analytic: parameter.grad.scalars, numeric: numeric), 1e-3,
                              parameter.name)
        }
    }

    func testSegmenterIsFrozenAndOnlyTheGateTrains() throws {
        let gate = try MaskGate(configuration: small, seed: 3)
        XCTAssertEqual(gate.trainableParameters.map(\.name), ["gate.weight", "gate.bias"])
        XCTAssertTrue(gate.segmenter.parameters.allSatisfy(\.isFrozen))
    }

    func testCheckpointRoundTripRebuildsTheGate() throws {
        let gate = try MaskGate(configuration: small, seed: 3)
        gate.weight.value.scalars = [2, 5]
        gate.segmenter.head.weight.value.scalars[0] = 0.25
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Checkpoint.saveModel(gate, to: url)
        let (model, _) = try Checkpoint.loadModel(from: url)
        let loaded = try XCTUnwrap(model as? MaskGate)
        XCTAssertEqual(loaded.gateConfiguration, small)
        XCTAssertEqual(loaded.weight.value.scalars, [2, 5])
        XCTAssertEqual(loaded.segmenter.head.weight.value.scalars[0], 0.25)
        let x = GradientCheck.randomTensor([1, 8, 8, 3], seed: 2)
        XCTAssertEqual(loaded.forward(x, mode: .inference).scalars, gate.forward(x, mode: .inference).scalars)
    }

    func testCosineAnnealingEndsAtTheMinimum() {
        let c = CosineAnnealing(initial: 1e-3, minimum: 1e-5, totalSteps: 100)
        XCTAssertEqual(c.learningRate(atStep: 0), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(c.learningRate(atStep: 50), (1e-3 + 1e-5) / 2, accuracy: 1e-9)
        XCTAssertEqual(c.learningRate(atStep: 100), 1e-5, accuracy: 1e-9)
        XCTAssertEqual(c.learningRate(atStep: 500), 1e-5, accuracy: 1e-9)
        XCTAssertGreaterThan(c.learningRate(atStep: 20), c.learningRate(atStep: 21))
    }
}
