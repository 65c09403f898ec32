import Foundation
import GliaCore
import XCTest

final class WeightAverageTests: XCTestCase {
    func testAverageFollowsTheWarmedUpDecayByHand() throws {
        let bn = BatchNorm2D(name: "bn", channels: 1)
        let average = WeightAverage(of: bn, decay: 0.5)
        bn.weight.value = Tensor(shape: [1], scalars: [3])
        bn.numBatchesTracked.value = Tensor(shape: [1], scalars: [7])
        // Step 1: d = min(0.5, 2/11) = 2/11, so avg = 2/11 * 1 + 9/11 * 3.
        average.update(from: bn)
        bn.weight.value = Tensor(shape: [1], scalars: [5])
        // Step 2: d = min(0.5, 3/12) = 1/4.
        average.update(from: bn)
        let afterOne: Float = 2.0 / 11 + 9.0 / 11 * 3
        try average.withAveragedWeights(in: bn) {
            XCTAssertEqual(bn.weight.value.scalars[0], 0.25 * afterOne + 0.75 * 5, accuracy: 1e-6)
            XCTAssertEqual(bn.bias.value.scalars[0], 0, "an unchanged parameter stays")
            XCTAssertEqual(bn.numBatchesTracked.value.scalars[0], 7, "integer buffers are copied, not averaged")
            struct Thrown: Error {}
            XCTAssertThrowsError(try average.withAveragedWeights(in: bn) { throw Thrown() })
            XCTAssertEqual(bn.weight.value.scalars[0], 0.25 * afterOne + 0.75 * 5, accuracy: 1e-6,
                           "a throwing body still swaps back")
        }
        XCTAssertEqual(bn.weight.value.scalars[0], 5, "the trained weights come back")
        XCTAssertEqual(average.steps, 2)
    }

    func testDecayCapsTheWarmUp() {
        let bn = BatchNorm2D(name: "bn", channels: 1)
        let average = WeightAverage(of: bn, decay: 0.9)
        bn.weight.value = Tensor(shape: [1], scalars: [0])
        for _ in 0..<1000 { average.update(from: bn) }
        bn.weight.value = Tensor(shape: [1], scalars: [1])
        average.update(from: bn)
        // After warm-up the decay is 0.9: one step of 1 moves the (zero) average to 0.1.
        average.swap(with: bn)
        XCTAssertEqual(bn.weight.value.scalars[0], 0.1, accuracy: 1e-6)
    }

    func testRestoreChecksCountAndShapes() throws {
        let bn = BatchNorm2D(name: "bn", channels: 2)
        let average = WeightAverage(of: bn, decay: 0.99)
        let state = bn.parameters.map(\.value) + bn.buffers.map(\.value)
        XCTAssertThrowsError(try average.restore(values: Array(state.dropLast()), steps: 1))
        var wrong = state
        wrong[0] = Tensor(shape: [3])
        XCTAssertThrowsError(try average.restore(values: wrong, steps: 1))
        XCTAssertThrowsError(try average.restore(values: state, steps: -1))
        var restored = state
        restored[0] = Tensor(shape: [2], scalars: [4, 5])
        try average.restore(values: restored, steps: 12)
        XCTAssertEqual(average.steps, 12)
        average.swap(with: bn)
        XCTAssertEqual(bn.weight.value.scalars, [4, 5])
    }
}
