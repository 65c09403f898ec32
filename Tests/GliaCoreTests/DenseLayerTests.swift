import GliaCore
import GliaTestSupport
import XCTest

final class DenseLayerTests: XCTestCase {
    func testHandComputedForward() {
        var rng = RandomGenerator(seed: 1)
        let dense = Dense(name: "fc", inFeatures: 3, outFeatures: 2, rng: &rng)
        dense.weight.value = Tensor(shape: [2, 3], scalars: [1, 2, 3, -1, 0, 1])  // [out, in] as PyTorch
        dense.bias.value = Tensor(shape: [2], scalars: [0.5, -0.5])
        let y = dense.forward(Tensor(shape: [2, 3], scalars: [1, 1, 1, 2, 0, -1]), mode: .inference)
        XCTAssertEqual(y.scalars, [6.5, -0.5, -0.5, -3.5])
        XCTAssertEqual(dense.parameters.map(\.name), ["fc.weight", "fc.bias"])
    }

    func testGradients() {
        var rng = RandomGenerator(seed: 2)
        let dense = Dense(name: "fc", inFeatures: 7, outFeatures: 5, rng: &rng)
        assertGradients(input: GradientCheck.randomTensor([3, 7], seed: 3), parameters: dense.parameters,
                        forward: { dense.forward($0, mode: .training) }, backward: { dense.backward($0) })
    }

    func testGlorotRange() {
        var rng = RandomGenerator(seed: 4)
        let dense = Dense(name: "fc", inFeatures: 512, outFeatures: 256, rng: &rng)
        let bound = (6.0 / Float(768)).squareRoot()
        XCTAssertTrue(dense.weight.value.scalars.allSatisfy { abs($0) <= bound })
        XCTAssertGreaterThan(dense.weight.value.scalars.map { abs($0) }.max()!, 0.9 * bound)
    }

    func testDropoutMasksAndScalesInTrainingOnly() {
        let dropout = Dropout(probability: 0.25, rng: RandomGenerator(seed: 5))
        let x = Tensor(shape: [4, 1000], repeating: 2)
        XCTAssertEqual(dropout.forward(x, mode: .inference), x)
        let y = dropout.forward(x, mode: .training)
        let zeros = y.scalars.filter { $0 == 0 }.count
        XCTAssertEqual(Double(zeros) / Double(x.count), 0.25, accuracy: 0.03)
        XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 || abs($0 - 2 / 0.75) < 1e-6 })
        // Backward passes dy through the same mask and scale.
        let dx = dropout.backward(Tensor(shape: x.shape, repeating: 1))
        XCTAssertEqual(dx.scalars.map { $0 * 2 }, y.scalars)
    }

    func testDropoutGradients() {
        let dropout = Dropout(probability: 0.4, rng: RandomGenerator(seed: 6))
        let start = dropout.rng
        // Replaying the generator makes the mask a fixed function, which central differences need.
        assertGradients(input: GradientCheck.randomTensor([2, 30], seed: 7), parameters: [],
                        forward: { dropout.rng = start; return dropout.forward($0, mode: .training) },
                        backward: { dropout.backward($0) })
    }
}
