import GliaCore
import GliaTestSupport
import XCTest

final class PoolingLayerTests: XCTestCase {
    /// x[y][x] = 4y + x + 1 on one channel.
    private let grid = Tensor(shape: [1, 4, 4, 1]) { Float($0 + 1) }

    /// Distinct values 0.05 apart in a shuffled order: no max-pool tie is within a probe's reach.
    private func separated(_ shape: [Int], seed: UInt64) -> Tensor {
        let count = shape.reduce(1, *)
        var rng = RandomGenerator(seed: seed)
        var values = (0..<count).map { Float($0) * 0.05 - Float(count) * 0.025 }
        values.shuffle(using: &rng)
        return Tensor(shape: shape, scalars: values)
    }

    func testMaxPoolByHand() {
        XCTAssertEqual(MaxPool2D(kernelSize: 2, stride: 2).forward(grid, mode: .inference).scalars, [6, 8, 14, 16])
        // All negative: zero padding would win every window; PyTorch (and Glia) skip padding.
        let negative = Tensor(shape: [1, 4, 4, 1]) { -Float($0 + 1) }
        let y = MaxPool2D(kernelSize: 3, stride: 2, padding: 1).forward(negative, mode: .inference)
        XCTAssertEqual(y.shape, [1, 2, 2, 1])
        XCTAssertEqual(y.scalars, [-1, -2, -5, -6])
        // Ties: the first pixel of the window (in row-major order) takes the gradient, as PyTorch.
        let pool = MaxPool2D(kernelSize: 2, stride: 2)
        _ = pool.forward(Tensor(shape: [1, 2, 2, 9], repeating: 3), mode: .training)
        let dx = pool.backward(Tensor(shape: [1, 1, 1, 9], repeating: 1))
        XCTAssertEqual(dx.scalars, [Float](repeating: 1, count: 9) + [Float](repeating: 0, count: 27))
    }

    func testMaxPoolGradients() {
        for (k, s, p, shape) in [(2, 2, 0, [2, 6, 4, 3]), (3, 2, 1, [2, 7, 5, 3]), (2, 2, 0, [1, 7, 5, 2]),
                                 (3, 2, 1, [1, 5, 5, 11])] {  // 11 channels: the 8-wide path and its tail
            let pool = MaxPool2D(kernelSize: k, stride: s, padding: p)
            let x = separated(shape, seed: UInt64(k * 10 + shape[1]))
            if shape == [2, 7, 5, 3] { XCTAssertEqual(pool.forward(x, mode: .inference).shape, [2, 4, 3, 3]) }
            // Inference skips the argmax bookkeeping but must give the same values.
            XCTAssertEqual(pool.forward(x, mode: .inference), pool.forward(x, mode: .training))
            assertGradients(input: x, parameters: [], forward: { pool.forward($0, mode: .training) },
                            backward: { pool.backward($0) })
        }
    }

    func testAvgPoolByHandAndGradients() {
        XCTAssertEqual(AvgPool2D(kernelSize: 2).forward(grid, mode: .inference).scalars, [3.5, 5.5, 11.5, 13.5])
        let pool = AvgPool2D(kernelSize: 2)
        let x = GradientCheck.randomTensor([2, 5, 7, 3], seed: 1)  // odd: the last row/column are dropped
        XCTAssertEqual(pool.forward(x, mode: .inference).shape, [2, 2, 3, 3])
        assertGradients(input: x, parameters: [], forward: { pool.forward($0, mode: .training) },
                        backward: { pool.backward($0) })
    }

    func testGlobalAvgPool() {
        let pool = GlobalAvgPool()
        let x = Tensor(shape: [1, 2, 2, 2], scalars: [1, 10, 2, 20, 3, 30, 4, 40])
        XCTAssertEqual(pool.forward(x, mode: .inference).scalars, [2.5, 25])
        assertGradients(input: GradientCheck.randomTensor([2, 3, 5, 4], seed: 2), parameters: [],
                        forward: { pool.forward($0, mode: .training) }, backward: { pool.backward($0) })
    }
}
