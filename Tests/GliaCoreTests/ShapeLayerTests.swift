import GliaCore
import GliaTestSupport
import XCTest

final class ShapeLayerTests: XCTestCase {
    func testUpsampleByHandAndGradients() {
        let up = Upsample2x()
        let y = up.forward(Tensor(shape: [1, 2, 2, 1], scalars: [1, 2, 3, 4]), mode: .inference)
        XCTAssertEqual(y.shape, [1, 4, 4, 1])
        XCTAssertEqual(y.scalars, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        assertGradients(input: GradientCheck.randomTensor([2, 3, 5, 2], seed: 1), parameters: [],
                        forward: { up.forward($0, mode: .training) }, backward: { up.backward($0) })
    }

    func testFlattenUsesPyTorchOrder() {
        // value = 100c + 10h + w; PyTorch flattens NCHW, so the output runs over c, then h, then w.
        let x = Tensor(shape: [1, 2, 3, 2]) { i in
            let c = i % 2, w = (i / 2) % 3, h = i / 6
            return Float(100 * c + 10 * h + w)
        }
        let flatten = Flatten()
        XCTAssertEqual(flatten.forward(x, mode: .inference).scalars, [0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112])
        assertGradients(input: GradientCheck.randomTensor([2, 3, 2, 4], seed: 2), parameters: [],
                        forward: { flatten.forward($0, mode: .training) }, backward: { flatten.backward($0) })
    }

    func testConcatAlongChannels() {
        let a = Tensor(shape: [1, 1, 2, 1], scalars: [1, 2])
        let b = Tensor(shape: [1, 1, 2, 2], scalars: [10, 11, 20, 21])
        let concat = Concat()
        XCTAssertEqual(concat.forward([a, b], mode: .inference).scalars, [1, 10, 11, 2, 20, 21])
        let parts = [GradientCheck.randomTensor([2, 3, 5, 2], seed: 3), GradientCheck.randomTensor([2, 3, 5, 3], seed: 4)]
        for i in 0..<2 {
            assertGradients(input: parts[i], parameters: [],
                            forward: { x in concat.forward(i == 0 ? [x, parts[1]] : [parts[0], x], mode: .training) },
                            backward: { concat.backward($0)[i] })
        }
    }

    func testAdd() {
        let add = Add()
        let a = GradientCheck.randomTensor([2, 3, 4, 2], seed: 5), b = GradientCheck.randomTensor([2, 3, 4, 2], seed: 6)
        XCTAssertEqual(add.forward(a, b, mode: .inference).scalars, zip(a.scalars, b.scalars).map { $0 + $1 })
        assertGradients(input: a, parameters: [], forward: { add.forward($0, b, mode: .training) },
                        backward: { add.backward($0).0 })
        assertGradients(input: b, parameters: [], forward: { add.forward(a, $0, mode: .training) },
                        backward: { add.backward($0).1 })
    }
}
