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
        let e = MaskEvidence.of(masks: p)
        // 3 of 16 pixels scale to 3 * 65536 / 16 pixels of a 256x256 slice.
        XCTAssertEqual(Double(e[0].logArea), log(1 + 3 * 4096.0), accuracy: 1e-5)
        XCTAssertEqual(e[0].peak, 0.9)
        XCTAssertEqual(e[1], MaskEvidence(logArea: 0, peak: 0.4))
    }

    func testNeighbourAreaIsTheLargestWithinReachLeavingTheSliceOut() throws {
        let volume: [Int: MaskEvidence] = [3: .init(logArea: 9, peak: 1), 4: .init(logArea: 2, peak: 0.6),
                                           5: .init(logArea: 7, peak: 0.9), 7: .init(logArea: 8, peak: 0.9)]
        XCTAssertEqual(MaskEvidence.neighbourArea(of: 4, in: volume, reach: 1), 9)
        XCTAssertEqual(MaskEvidence.neighbourArea(of: 5, in: volume, reach: 1), 2)
        XCTAssertEqual(MaskEvidence.neighbourArea(of: 5, in: volume, reach: 2), 9)
        XCTAssertEqual(MaskEvidence.neighbourArea(of: 3, in: volume, reach: 1), 2, "slice 3's own 9 is left out")
        XCTAssertNil(MaskEvidence.neighbourArea(of: 12, in: volume, reach: 2))

        let gate = try MaskGate(configuration: MaskGateConfiguration(segmenter: small.segmenter, neighbourReach: 2), seed: 3)
        XCTAssertEqual(gate.weight.value.shape, [3])
        let f = gate.features(evidence: [volume[4]!, volume[7]!], neighbourAreas: [9, nil])
        XCTAssertEqual(f.scalars, [2, 0.6, 9, 8, 0.9, 8], "no neighbour known: the slice's own area stands in")
    }

    func testReachIsValidatedAndOldConfigurationsReadAsReachZero() throws {
        let old = #"{"segmenter": {"filters": [4, 8], "inputChannels": 3, "outputChannels": 1}}"#
        XCTAssertEqual(try JSONDecoder().decode(MaskGateConfiguration.self, from: Data(old.utf8)).neighbourReach, 0)
        for bad in [-1, MaskGateConfiguration.maximumNeighbourReach + 1] {
            XCTAssertThrowsError(try MaskGateConfiguration(segmenter: small.segmenter, neighbourReach: bad).validate()) {
                XCTAssertTrue("\($0)".contains("neighbourReach"), "\($0)")
            }
        }
    }

    func testHeadGradientMatchesFiniteDifferences() throws {
        try checkHeadGradient(small, features: Tensor(shape: [3, 2], scalars: [0, 0.1, 4.2, 0.8, 9.5, 0.99]),
                              weights: [0.7, -1.3])
        try checkHeadGradient(MaskGateConfiguration(segmenter: small.segmenter, neighbourReach: 1),
                              features: Tensor(shape: [3, 3], scalars: [0, 0.1, 6, 4.2, 0.8, 0, 9.5, 0.99, 3]),
                              weights: [0.7, -1.3, 0.4])
    }

    private func checkHeadGradient(_ configuration: MaskGateConfiguration, features: Tensor, weights: [Float]) throws {
        let gate = try MaskGate(configuration: configuration, seed: 3)
        let labels = [0, 1, 1]
        gate.weight.value.scalars = weights
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
        let configuration = MaskGateConfiguration(segmenter: small.segmenter, neighbourReach: 2)
        let gate = try MaskGate(configuration: configuration, seed: 3)
        gate.weight.value.scalars = [2, 5, 1]
        gate.segmenter.head.weight.value.scalars[0] = 0.25
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Checkpoint.saveModel(gate, to: url)
        let (model, _) = try Checkpoint.loadModel(from: url)
        let loaded = try XCTUnwrap(model as? MaskGate)
        XCTAssertEqual(loaded.gateConfiguration, configuration)
        XCTAssertEqual(loaded.weight.value.scalars, [2, 5, 1])
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
