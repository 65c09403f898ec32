import GliaCore
import XCTest

/// Winograd F(4x4, 3x3) (inference) and F(2x2, 3x3) (training, dx) against a float64 direct
/// convolution, beside im2col's error on the same data: forward with every epilogue, dx, partial
/// last tiles, each padding, the filter cache and the BatchNorm-folded path.
final class WinogradTests: XCTestCase {
    /// (batch, height, width, Cin, Cout, padding); every case has enough 4x4 tiles for two workers,
    /// and the first and last end in partial tiles.
    private let cases = [(2, 17, 19, 32, 40, 1), (2, 18, 15, 32, 48, 0), (2, 16, 16, 48, 32, 2)]

    /// y[b, oy, ox, o] = Σ x[b, oy + ky − p, ox + kx − p, c] · w[o, ky, kx, c] + bias[o], in double.
    private func reference(_ x: Tensor, _ conv: Conv2D) -> [Double] {
        let (n, h, w, cin) = x.nhwc
        let p = conv.padding, cout = conv.outChannels
        let ho = h + 2 * p - 2, wo = w + 2 * p - 2
        let wt = conv.weight.value.scalars, xs = x.scalars
        var y = [Double](repeating: 0, count: n * ho * wo * cout)
        for b in 0..<n { for oy in 0..<ho { for ox in 0..<wo { for o in 0..<cout {
            var sum = Double(conv.bias?.value.scalars[o] ?? 0)
            for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy + ky - p, ix = ox + kx - p
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for c in 0..<cin {
                    sum += Double(xs[((b * h + iy) * w + ix) * cin + c]) * Double(wt[((o * 3 + ky) * 3 + kx) * cin + c])
                }
            } }
            y[((b * ho + oy) * wo + ox) * cout + o] = sum
        } } } }
        return y
    }

    /// dx[b, iy, ix, c] = Σ dy[b, iy − ky + p, ix − kx + p, o] · w[o, ky, kx, c], in double.
    private func referenceInputGradient(_ dy: Tensor, _ conv: Conv2D, input shape: [Int]) -> [Double] {
        let (n, h, w, cin) = (shape[0], shape[1], shape[2], shape[3])
        let (_, ho, wo, cout) = dy.nhwc
        let p = conv.padding, wt = conv.weight.value.scalars, ds = dy.scalars
        var dx = [Double](repeating: 0, count: n * h * w * cin)
        for b in 0..<n { for oy in 0..<ho { for ox in 0..<wo { for o in 0..<cout {
            let g = Double(ds[((b * ho + oy) * wo + ox) * cout + o])
            for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy + ky - p, ix = ox + kx - p
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for c in 0..<cin { dx[((b * h + iy) * w + ix) * cin + c] += g * Double(wt[((o * 3 + ky) * 3 + kx) * cin + c]) }
            } }
        } } } }
        return dx
    }

    private func maxError(_ t: Tensor, _ ref: [Double]) -> Double {
        XCTAssertEqual(t.count, ref.count)
        return zip(t.scalars, ref).map { abs(Double($0) - $1) }.max() ?? 0
    }

    /// F(2x2, 3x3)'s error against float64 stays at the scale of im2col's (its transforms only add
    /// and halve); F(4x4, 3x3)'s coefficients up to 8 cost about 5-13x im2col's error here (1.1-1.5e-5
    /// on outputs of order 1), which is held under 2.5e-5: a tenth of the parity fixtures' tolerance
    /// for ResNet features (5e-4), half of the ResUNet output's (5e-5). Plain output and fused epilogues.
    func testForwardMatchesFloat64WithinTheDirectPathsScale() {
        ParallelConfig.withWorkers(2) {
            var rng = RandomGenerator(seed: 5)
            for (n, h, w, cin, cout, p) in cases {
                let conv = Conv2D(name: "c", inChannels: cin, outChannels: cout, kernelSize: 3, padding: p, rng: &rng)
                conv.algorithm = .automatic  // whatever GLIA_CONVOLUTION says
                let x = Tensor(shape: [n, h, w, cin]) { _ in rng.uniform(-1, 1) }
                let label = "\(n)x\(h)x\(w)x\(cin) -> \(cout), padding \(p)"
                XCTAssertEqual(conv.winogradTileSide(forInputOf: x.shape, mode: .inference), 4, label)
                XCTAssertEqual(conv.winogradTileSide(forInputOf: x.shape, mode: .training), 2, label)
                let ref = reference(x, conv)
                let f4 = maxError(conv.forward(x, mode: .inference), ref)
                let f2 = maxError(conv.forward(x, mode: .training), ref)
                conv.algorithm = .im2col
                XCTAssertNil(conv.winogradTileSide(forInputOf: x.shape, mode: .inference))
                let direct = maxError(conv.forward(x, mode: .inference), ref)
                print(String(format: "Winograd %@: max error vs float64 F(4x4) %.2e, F(2x2) %.2e (im2col %.2e)",
                             label, f4, f2, direct))
                let bound = max(8 * direct, 1e-6), f4Bound = 2.5e-5
                XCTAssertLessThan(f4, f4Bound, label)
                XCTAssertLessThan(f2, bound, label)

                conv.algorithm = .automatic
                let residual = Tensor(shape: [n, h + 2 * p - 2, w + 2 * p - 2, cout]) { _ in rng.uniform(-1, 1) }
                let fusedRef = zip(ref, residual.scalars).map { max(0, $0 + Double($1)) }
                XCTAssertLessThan(maxError(conv.inference(x, then: .addThenReLU(residual)), fusedRef), f4Bound, label)
                XCTAssertLessThan(maxError(conv.inference(x, then: .relu), ref.map { max(0, $0) }), f4Bound, label)
            }
        }
    }

    /// dx runs through Winograd too (as the convolution of dy with the turned filters) and matches
    /// float64 as closely as the im2col path does; dW, always im2col, is unchanged by the choice.
    func testInputGradientMatchesFloat64WithinTheDirectPathsScale() {
        ParallelConfig.withWorkers(2) {
            var rng = RandomGenerator(seed: 6)
            for (n, h, w, cin, cout, p) in cases {
                let conv = Conv2D(name: "c", inChannels: cin, outChannels: cout, kernelSize: 3, padding: p, rng: &rng)
                conv.algorithm = .automatic  // whatever GLIA_CONVOLUTION says
                let x = Tensor(shape: [n, h, w, cin]) { _ in rng.uniform(-1, 1) }
                let dy = Tensor(shape: [n, h + 2 * p - 2, w + 2 * p - 2, cout]) { _ in rng.uniform(-1, 1) }
                let label = "\(n)x\(h)x\(w)x\(cin) -> \(cout), padding \(p)"
                let ref = referenceInputGradient(dy, conv, input: x.shape)
                _ = conv.forward(x, mode: .training)
                let winograd = maxError(conv.backward(dy), ref)
                let weightGradient = conv.weight.grad
                conv.weight.grad = Tensor(shape: conv.weight.value.shape)
                conv.algorithm = .im2col
                _ = conv.forward(x, mode: .training)
                let direct = maxError(conv.backward(dy), ref)
                print(String(format: "Winograd dx %@: max error vs float64 %.2e (im2col %.2e)", label, winograd, direct))
                XCTAssertLessThan(winograd, max(8 * direct, 1e-6), label)
                XCTAssertEqual(weightGradient.scalars, conv.weight.grad.scalars, label)
            }
        }
    }

    /// The transformed filters are made again after any change to the weights, own or folded.
    func testFilterCacheFollowsTheWeightsAndTheFoldedPath() {
        ParallelConfig.withWorkers(2) {
            var rng = RandomGenerator(seed: 7)
            let conv = Conv2D(name: "c", inChannels: 32, outChannels: 32, kernelSize: 3, padding: 1, rng: &rng)
            conv.algorithm = .automatic
            let x = Tensor(shape: [2, 16, 16, 32]) { _ in rng.uniform(-1, 1) }
            XCTAssertEqual(conv.winogradTileSide(forInputOf: x.shape, mode: .inference), 4)
            _ = conv.forward(x, mode: .inference)
            conv.weight.value = Tensor(shape: conv.weight.value.shape) { _ in rng.uniform(-0.2, 0.2) }
            XCTAssertLessThan(maxError(conv.forward(x, mode: .inference), reference(x, conv)), 5e-5)
            // Same weights, the other tile: the F(4x4) planes must not serve F(2x2).
            XCTAssertLessThan(maxError(conv.forward(x, mode: .training), reference(x, conv)), 1e-5)

            let bn = BatchNorm2D(name: "b", channels: 32)
            bn.runningMean.value = Tensor(shape: [32]) { _ in rng.uniform(-0.3, 0.3) }
            bn.runningVar.value = Tensor(shape: [32]) { _ in rng.uniform(0.2, 2) }
            let folded = ConvBatchNorm(conv, bn)
            func unfused() -> Tensor {
                conv.algorithm = .im2col
                defer { conv.algorithm = .automatic }
                return bn.forward(conv.forward(x, mode: .inference), mode: .inference)
            }
            XCTAssertLessThan(maxAbsDifference(folded.inference(x), unfused()), 5e-5)
            bn.weight.value = Tensor(shape: [32]) { _ in rng.uniform(0.5, 1.5) }
            XCTAssertLessThan(maxAbsDifference(folded.inference(x), unfused()), 5e-5)
            // The layer's own weights after the folded ones: the cache must not hand back folded filters.
            XCTAssertLessThan(maxError(conv.forward(x, mode: .inference), reference(x, conv)), 5e-5)
        }
    }

    /// Winograd is used only where it applies: 3x3, stride 1, at least 32 channels in eights, enough
    /// tiles; inference takes 4x4 tiles where it has enough of them, training always 2x2.
    func testWinogradAppliesOnlyToItsShapes() {
        ParallelConfig.withWorkers(2) {
            var rng = RandomGenerator(seed: 8)
            func side(_ cin: Int, _ cout: Int, k: Int = 3, stride: Int = 1, input: [Int],
                      mode: ForwardMode = .inference) -> Int? {
                let layer = Conv2D(name: "c", inChannels: cin, outChannels: cout, kernelSize: k, stride: stride,
                                   padding: k / 2, rng: &rng)
                layer.algorithm = .automatic
                return layer.winogradTileSide(forInputOf: input, mode: mode)
            }
            XCTAssertEqual(side(32, 32, input: [1, 32, 32, 32]), 4)
            XCTAssertEqual(side(32, 32, input: [1, 32, 32, 32], mode: .training), 2)
            XCTAssertEqual(side(32, 32, input: [1, 16, 16, 32]), 2, "16 4x4 tiles for 2 workers: 2x2 tiles")
            XCTAssertNil(side(32, 32, input: [1, 4, 4, 32]), "4 tiles for 2 workers")
            XCTAssertNil(side(32, 32, stride: 2, input: [1, 32, 32, 32]))
            XCTAssertNil(side(32, 32, k: 1, input: [1, 32, 32, 32]))
            XCTAssertNil(side(3, 32, input: [1, 32, 32, 3]))
            XCTAssertNil(side(16, 32, input: [1, 32, 32, 16]), "16 input channels")
            XCTAssertNil(side(32, 36, input: [1, 32, 32, 32]), "36 outputs")
        }
    }
}
