import GliaCore
import GliaTestSupport
import XCTest

final class BatchNorm2DTests: XCTestCase {
    func testTrainingForwardAndRunningStatisticsByHand() {
        // [1, 2, 2, 2]: channel 0 holds 1, 2, 3, 4 (μ 2.5, σ² 1.25, unbiased 5/3);
        // channel 1 holds 10, 10, 10, 14 (μ 11, σ² 3, unbiased 4).
        let x = Tensor(shape: [1, 2, 2, 2], scalars: [1, 10, 2, 10, 3, 10, 4, 14])
        let bn = BatchNorm2D(name: "bn", channels: 2)
        bn.weight.value = Tensor(shape: [2], scalars: [2, 1])
        bn.bias.value = Tensor(shape: [2], scalars: [0.5, 0])
        let y = bn.forward(x, mode: .training)
        let inv0 = 1 / (1.25 + 1e-5).squareRoot(), inv1 = 1 / (3 + 1e-5).squareRoot()
        let expected: [Double] = [
            2 * (1 - 2.5) * inv0 + 0.5, (10 - 11) * inv1, 2 * (2 - 2.5) * inv0 + 0.5, (10 - 11) * inv1,
            2 * (3 - 2.5) * inv0 + 0.5, (10 - 11) * inv1, 2 * (4 - 2.5) * inv0 + 0.5, (14 - 11) * inv1,
        ]
        for (a, e) in zip(y.scalars, expected) { XCTAssertEqual(Double(a), e, accuracy: 1e-5) }
        // PyTorch: running = 0.9 running + 0.1 stat, with the unbiased variance.
        XCTAssertEqual(bn.runningMean.value.scalars[0], 0.25, accuracy: 1e-7)
        XCTAssertEqual(bn.runningMean.value.scalars[1], 1.1, accuracy: 1e-6)
        XCTAssertEqual(bn.runningVar.value.scalars[0], Float(0.9 + 0.1 * 5.0 / 3.0), accuracy: 1e-6)
        XCTAssertEqual(bn.runningVar.value.scalars[1], 1.3, accuracy: 1e-6)
        XCTAssertEqual(bn.numBatchesTracked.value.scalars, [1])
        _ = bn.forward(x, mode: .training)
        XCTAssertEqual(bn.runningMean.value.scalars[0], 0.9 * 0.25 + 0.25, accuracy: 1e-6)
        XCTAssertEqual(bn.numBatchesTracked.value.scalars, [2])

        // Inference uses the running statistics and leaves them alone.
        let before = bn.runningVar.value
        let z = bn.forward(x, mode: .inference)
        let rm = Double(bn.runningMean.value.scalars[1]), rv = Double(bn.runningVar.value.scalars[1])
        XCTAssertEqual(Double(z.scalars[7]), (14 - rm) / (rv + 1e-5).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(bn.runningVar.value, before)
        XCTAssertEqual(bn.numBatchesTracked.value.scalars, [2])
    }

    func testNamesAndBuffers() {
        let bn = BatchNorm2D(name: "layer1.0.bn1", channels: 3)
        XCTAssertEqual(bn.parameters.map(\.name), ["layer1.0.bn1.weight", "layer1.0.bn1.bias"])
        XCTAssertEqual(bn.buffers.map(\.name), ["layer1.0.bn1.running_mean", "layer1.0.bn1.running_var",
                                                "layer1.0.bn1.num_batches_tracked"])
        XCTAssertTrue(bn.numBatchesTracked.isInteger)
        XCTAssertEqual(bn.runningVar.value.scalars, [1, 1, 1])
    }

    func testStatisticsStayAccurateOnLargeOffsetBatches() {
        // 32k values per channel around 100 with spread 0.01: a float running sum loses the variance.
        let x = GradientCheck.randomTensor([8, 64, 64, 2], seed: 5, scale: 0.01).scalars.map { $0 + 100 }
        let bn = BatchNorm2D(name: "bn", channels: 2, momentum: 1)
        _ = bn.forward(Tensor(shape: [8, 64, 64, 2], scalars: x), mode: .training)
        for c in 0..<2 {
            let values = stride(from: c, to: x.count, by: 2).map { Double(x[$0]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let unbiased = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
            XCTAssertEqual(Double(bn.runningMean.value.scalars[c]), mean, accuracy: 1e-5 * mean)
            XCTAssertEqual(Double(bn.runningVar.value.scalars[c]), unbiased, accuracy: 1e-5 * unbiased)
        }
    }

    func testGradients() {
        for shape in [[2, 3, 5, 4], [1, 7, 5, 3]] {
            let bn = BatchNorm2D(name: "bn", channels: shape[3])
            var rng = RandomGenerator(seed: 8)
            bn.weight.value = Tensor(shape: [shape[3]]) { _ in rng.uniform(0.5, 1.5) }
            bn.bias.value = Tensor(shape: [shape[3]]) { _ in rng.uniform(-0.5, 0.5) }
            let x = GradientCheck.randomTensor(shape, seed: 9, scale: 2).scalars.map { $0 + 3 }
            assertGradients(input: Tensor(shape: shape, scalars: x), parameters: bn.parameters,
                            forward: { bn.forward($0, mode: .training) }, backward: { bn.backward($0) })
        }
    }

    func testFrozenParametersGetNoGradient() {
        let bn = BatchNorm2D(name: "bn", channels: 3)
        let x = GradientCheck.randomTensor([2, 3, 3, 3], seed: 1)
        let y = bn.forward(x, mode: .training)
        let dx = bn.backward(GradientCheck.randomTensor(y.shape, seed: 2))
        bn.zeroGradients()
        bn.setFrozen(true)
        XCTAssertEqual(bn.backward(GradientCheck.randomTensor(y.shape, seed: 2)), dx)
        XCTAssertEqual(bn.weight.grad.squaredNorm + bn.bias.grad.squaredNorm, 0)
    }
}
