import GliaCore
import XCTest

/// The direct AVX-512 and AVX2 convolution kernels against a float64 convolution and against im2col:
/// forward with each epilogue and dx, kernels 1, 3 and 5, each padding, rows whose edge pixels and
/// leftovers take the one-pixel path, and channel counts that mix one- and two-vector tiles.
final class DirectConvolutionTests: XCTestCase {
    /// (batch, height, width, Cin, Cout, kernel, padding).
    private let cases = [(2, 9, 21, 3, 16, 3, 1), (1, 7, 30, 16, 16, 3, 1), (2, 5, 13, 48, 16, 1, 0),
                         (1, 6, 40, 16, 32, 3, 1), (2, 8, 17, 8, 24, 3, 2), (1, 11, 14, 5, 32, 5, 2),
                         (1, 4, 3, 16, 16, 3, 1)]

    /// y[b, oy, ox, o] = Σ x[b, oy + ky − p, ox + kx − p, c] · w[o, ky, kx, c] + bias[o], in double.
    private func reference(_ x: Tensor, _ conv: Conv2D) -> [Double] {
        let (n, h, w, cin) = x.nhwc
        let k = conv.kernelSize, p = conv.padding, cout = conv.outChannels
        let ho = h + 2 * p - k + 1, wo = w + 2 * p - k + 1
        let wt = conv.weight.value.scalars, xs = x.scalars
        var y = [Double](repeating: 0, count: n * ho * wo * cout)
        for b in 0..<n { for oy in 0..<ho { for ox in 0..<wo { for o in 0..<cout {
            var sum = Double(conv.bias?.value.scalars[o] ?? 0)
            for ky in 0..<k { for kx in 0..<k {
                let iy = oy + ky - p, ix = ox + kx - p
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for c in 0..<cin {
                    sum += Double(xs[((b * h + iy) * w + ix) * cin + c]) * Double(wt[((o * k + ky) * k + kx) * cin + c])
                }
            } }
            y[((b * ho + oy) * wo + ox) * cout + o] = sum
        } } } }
        return y
    }

    private func maxError(_ t: Tensor, _ ref: [Double]) -> Double {
        XCTAssertEqual(t.count, ref.count)
        return zip(t.scalars, ref).map { abs(Double($0) - $1) }.max() ?? .infinity
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? .infinity
    }

    /// The widths this CPU runs, widest first; the test skips where it runs neither kernel.
    private func widths() throws -> [Int] {
        var rng = RandomGenerator(seed: 1)
        let probe = Conv2D(name: "probe", inChannels: 16, outChannels: 16, kernelSize: 1, rng: &rng)
        probe.algorithm = .automatic
        let found = [16, 8].filter { width in
            probe.directVectorWidth = width
            return probe.directConvolutionWidth(forInputOf: [1, 4, 4, 16], mode: .inference) == width
        }
        if found.isEmpty { throw XCTSkip("this CPU runs neither the AVX-512 nor the AVX2 direct kernels") }
        return found
    }

    func testForwardMatchesFloat64AtIm2colsScale() throws {
        for width in try widths() {
            var rng = RandomGenerator(seed: 11)
            for (n, h, w, cin, cout, k, p) in cases where cout % width == 0 {
                let conv = Conv2D(name: "c", inChannels: cin, outChannels: cout, kernelSize: k, padding: p, rng: &rng)
                let x = Tensor(shape: [n, h, w, cin]) { _ in rng.uniform(-1, 1) }
                let label = "width \(width): \(n)x\(h)x\(w)x\(cin) -> \(cout), k \(k), padding \(p)"
                conv.algorithm = .automatic
                conv.directVectorWidth = width
                XCTAssertEqual(conv.directConvolutionWidth(forInputOf: x.shape, mode: .training), width, label)
                let ref = reference(x, conv)
                let direct = ParallelConfig.withWorkers(2) { maxError(conv.forward(x, mode: .training), ref) }
                conv.algorithm = .im2col
                XCTAssertNil(conv.directConvolutionWidth(forInputOf: x.shape, mode: .training), label)
                let lowered = maxError(conv.forward(x, mode: .training), ref)
                print(String(format: "direct %@: max error vs float64 %.2e (im2col %.2e)", label, direct, lowered))
                XCTAssertLessThan(direct, max(4 * lowered, 2e-6), label)
            }
        }
    }

    func testFusedEpiloguesMatchTheUnfusedLayers() throws {
        for width in try widths() {
            var rng = RandomGenerator(seed: 12)
            let conv = Conv2D(name: "c", inChannels: 16, outChannels: 32, kernelSize: 3, padding: 1, rng: &rng)
            conv.algorithm = .automatic
            conv.directVectorWidth = width
            let x = Tensor(shape: [2, 6, 19, 16]) { _ in rng.uniform(-1, 1) }
            let other = Tensor(shape: [2, 6, 19, 32]) { _ in rng.uniform(-1, 1) }
            let plain = conv.forward(x, mode: .inference)
            let relu = plain.scalars.map { max($0, 0) }
            var sum = plain
            sum.add(other)
            let summed = sum.scalars.map { max($0, 0) }
            XCTAssertEqual(conv.inference(x, then: .relu).scalars, relu, "width \(width) ReLU")
            XCTAssertEqual(conv.inference(x, then: .addThenReLU(other)).scalars, summed, "width \(width) sum")
        }
    }

    /// dx of stride-1 layers is a convolution with Cin outputs, so it runs directly where Cin fits.
    func testInputGradientMatchesIm2col() throws {
        for width in try widths() {
            var rng = RandomGenerator(seed: 13)
            for (n, h, w, cin, cout, k, p) in cases where cin % width == 0 && cin <= 32 {
                let conv = Conv2D(name: "c", inChannels: cin, outChannels: cout, kernelSize: k, padding: p, rng: &rng)
                let x = Tensor(shape: [n, h, w, cin]) { _ in rng.uniform(-1, 1) }
                let label = "width \(width): dx of \(n)x\(h)x\(w)x\(cin) -> \(cout), k \(k), padding \(p)"
                conv.algorithm = .automatic
                conv.directVectorWidth = width
                let y = conv.forward(x, mode: .training)
                let dy = Tensor(shape: y.shape) { _ in rng.uniform(-1, 1) }
                let direct = conv.backward(dy)
                conv.algorithm = .im2col
                _ = conv.forward(x, mode: .training)
                let lowered = conv.backward(dy)
                XCTAssertLessThan(maxDifference(direct, lowered), 2e-5, label)
            }
        }
    }

    func testOffRunsIm2col() {
        var rng = RandomGenerator(seed: 14)
        let conv = Conv2D(name: "c", inChannels: 16, outChannels: 16, kernelSize: 3, padding: 1, rng: &rng)
        conv.algorithm = .automatic
        conv.directVectorWidth = 0
        XCTAssertNil(conv.directConvolutionWidth(forInputOf: [1, 8, 8, 16], mode: .inference))
        let strided = Conv2D(name: "s", inChannels: 16, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, rng: &rng)
        strided.algorithm = .automatic
        XCTAssertNil(strided.directConvolutionWidth(forInputOf: [1, 8, 8, 16], mode: .inference))
        let wide = Conv2D(name: "w", inChannels: 16, outChannels: 64, kernelSize: 1, rng: &rng)
        wide.algorithm = .automatic
        XCTAssertNil(wide.directConvolutionWidth(forInputOf: [1, 8, 8, 16], mode: .inference))
    }
}
