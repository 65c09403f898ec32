import GliaCore
import GliaTestSupport
import XCTest

final class ActivationLayerTests: XCTestCase {
    func testForwardValues() {
        let x = Tensor(shape: [1, 3], scalars: [-2, 0, 3])
        XCTAssertEqual(ReLU().forward(x, mode: .inference).scalars, [0, 0, 3])
        let s = Sigmoid().forward(Tensor(shape: [3], scalars: [0, -100, 100]), mode: .inference)
        XCTAssertEqual(s.scalars[0], 0.5)
        XCTAssertEqual(s.scalars[1], 0, accuracy: 1e-30)  // e^-100, no overflow on the negative side
        XCTAssertEqual(s.scalars[2], 1)
        // softmax(0, ln 2, ln 3) = (1, 2, 3) / 6 per row.
        let logits = Tensor(shape: [2, 3], scalars: [0, logf(2), logf(3), 10, 10 + logf(2), 10 + logf(3)])
        let p = Softmax().forward(logits, mode: .inference)
        for (a, e) in zip(p.scalars, [1, 2, 3, 1, 2, 3].map { Float($0) / 6 }) { XCTAssertEqual(a, e, accuracy: 1e-6) }
    }

    func testGradients() {
        // ReLU inputs kept 0.1 away from the kink so ±epsilon never crosses it.
        let raw = GradientCheck.randomTensor([2, 3, 4, 5], seed: 1)
        let away = Tensor(shape: raw.shape, scalars: raw.scalars.map { $0 < 0 ? $0 - 0.1 : $0 + 0.1 })
        let relu = ReLU()
        assertGradients(input: away, parameters: [], forward: { relu.forward($0, mode: .training) },
                        backward: { relu.backward($0) })
        let sigmoid = Sigmoid()
        assertGradients(input: GradientCheck.randomTensor([2, 3, 4, 5], seed: 2, scale: 2), parameters: [],
                        forward: { sigmoid.forward($0, mode: .training) }, backward: { sigmoid.backward($0) })
        let softmax = Softmax()
        assertGradients(input: GradientCheck.randomTensor([4, 6], seed: 3), parameters: [],
                        forward: { softmax.forward($0, mode: .training) }, backward: { softmax.backward($0) })
    }
}
