import GliaCore
import GliaTestSupport
import XCTest

final class TensorTests: XCTestCase {
    func testLayoutPermutationsRoundTrip() {
        let nchw = Tensor(shape: [2, 3, 4, 5]) { Float($0) }
        let nhwc = nchw.nchwToNHWC()
        XCTAssertEqual(nhwc.shape, [2, 4, 5, 3])
        // (b=1, c=2, y=3, x=4) in NCHW is (b=1, y=3, x=4, c=2) in NHWC.
        XCTAssertEqual(nhwc[1, 3, 4, 2], nchw[1, 2, 3, 4])
        XCTAssertEqual(nhwc.nhwcToNCHW(), nchw)
    }

    func testRandomIsReproducibleAndResumable() {
        var a = RandomGenerator(seed: 42)
        var b = RandomGenerator(seed: 42)
        let first = (0..<100).map { _ in a.next() }
        XCTAssertEqual(first, (0..<100).map { _ in b.next() })
        var c = RandomGenerator(seed: 43)
        XCTAssertNotEqual(first[0], c.next())
        var resumed = RandomGenerator(state: a.stateWords)
        XCTAssertEqual(a.next(), resumed.next())
    }

    func testRandomDistributions() {
        var rng = RandomGenerator(seed: 1)
        let n = 20000
        let u = (0..<n).map { _ in rng.nextUniform() }
        XCTAssert(u.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(u.reduce(0, +) / Float(n), 0.5, accuracy: 0.01)
        let g = (0..<n).map { _ in Double(rng.nextNormal()) }
        let mean = g.reduce(0, +) / Double(n)
        let variance = g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }

    func testGEMMMatchesHandProduct() {
        // [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50]
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            BLAS.gemm(m: 2, n: 2, k: 2, a: pa.baseAddress!, lda: 2, b: pb.baseAddress!, ldb: 2,
                      c: pc.baseAddress!, ldc: 2)
        } } }
        XCTAssertEqual(c, [19, 22, 43, 50])
    }
}
