import GliaCore
import GliaTestSupport
import XCTest

final class Conv2DTests: XCTestCase {
    /// Direct convolution in double, the definition the im2col/GEMM path must reproduce.
    private func referenceForward(_ x: Tensor, _ conv: Conv2D) -> Tensor {
        let (n, h, w, c) = x.nhwc
        let (k, s, p) = (conv.kernelSize, conv.stride, conv.padding)
        let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
        var y = Tensor(shape: [n, ho, wo, conv.outChannels])
        for b in 0..<n { for oy in 0..<ho { for ox in 0..<wo { for o in 0..<conv.outChannels {
            var sum = Double(conv.bias?.value[o] ?? 0)
            for ky in 0..<k { for kx in 0..<k {
                let iy = oy * s - p + ky, ix = ox * s - p + kx
                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                for ci in 0..<c { sum += Double(x[b, iy, ix, ci]) * Double(conv.weight.value[o, ky, kx, ci]) }
            } }
            y[b, oy, ox, o] = Float(sum)
        } } } }
        return y
    }

    private func makeConv(_ cin: Int, _ cout: Int, k: Int, s: Int = 1, p: Int = 0, bias: Bool = true,
                          seed: UInt64 = 1) -> Conv2D {
        var rng = RandomGenerator(seed: seed)
        return Conv2D(name: "conv", inChannels: cin, outChannels: cout, kernelSize: k, stride: s,
                      padding: p, bias: bias, rng: &rng)
    }

    func testHandComputed3x3On4x4() {
        // x[y][x] = 4y + x + 1 (one channel). Filter 0 is all ones (window sums), filter 1 picks
        // the pixel at (ky, kx) = (1, 2) only, so a flipped or transposed kernel shows.
        let x = Tensor(shape: [1, 4, 4, 1]) { Float($0 + 1) }
        for (padding, stride, expected0, expected1): (Int, Int, [Float], [Float]) in [
            (0, 1, [54, 63, 90, 99], [7, 8, 11, 12]),
            (1, 2, [14, 30, 57, 99], [2, 4, 10, 12]),
        ] {
            let conv = makeConv(1, 2, k: 3, s: stride, p: padding)
            conv.weight.value = Tensor(shape: [2, 3, 3, 1]) { $0 < 9 ? 1 : ($0 == 9 + 5 ? 1 : 0) }
            conv.bias!.value = Tensor(shape: [2], scalars: [0.5, -1])
            let y = conv.forward(x, mode: .inference)
            XCTAssertEqual(y.shape, [1, 2, 2, 2])
            XCTAssertEqual((0..<4).map { y.scalars[2 * $0] }, expected0.map { $0 + 0.5 }, "padding \(padding)")
            XCTAssertEqual((0..<4).map { y.scalars[2 * $0 + 1] }, expected1.map { $0 - 1 }, "padding \(padding)")
        }
    }

    /// (Cin, Cout, k, stride, padding, input shape) covering the shapes the models use.
    private let configurations: [(Int, Int, Int, Int, Int, [Int])] = [
        (3, 4, 3, 1, 1, [2, 7, 5, 3]),   // 3x3 same, odd sizes, batch 2
        (3, 4, 3, 2, 1, [2, 7, 5, 3]),   // 3x3 stride 2
        (6, 5, 1, 1, 0, [2, 5, 4, 6]),   // pointwise: plain GEMM
        (4, 3, 1, 2, 0, [2, 7, 5, 4]),   // ResNet downsample: 1x1 stride 2
        (3, 2, 7, 2, 3, [1, 9, 11, 3]),  // ResNet stem: 7x7 stride 2 padding 3
        (2, 3, 3, 1, 0, [1, 6, 7, 2]),   // unpadded
        (5, 11, 3, 1, 1, [2, 6, 5, 5]),  // 11 outputs: the 8-wide bias path and its tail
    ]

    func testForwardMatchesDirectConvolution() {
        for (i, (cin, cout, k, s, p, shape)) in configurations.enumerated() {
            let x = GradientCheck.randomTensor(shape, seed: UInt64(10 + i))
            for block in [Conv2D.defaultColumnBlockElements, 60] {  // 60: a few rows per block, crossing images
                let conv = makeConv(cin, cout, k: k, s: s, p: p, seed: UInt64(i))
                conv.columnBlockElements = block
                let y = conv.forward(x, mode: .inference)
                XCTAssertLessThan(maxAbsDifference(y, referenceForward(x, conv)), 1e-5, "configuration \(i), block \(block)")
            }
        }
    }

    /// Few output rows (a deep layer at batch 1): the workers split the output channels, in sixteens
    /// with a partial last group, and the fused pass still sees every row and channel.
    func testFewRowsSplitTheOutputChannelsAcrossWorkers() {
        ParallelConfig.withWorkers(2) {
            for (i, (cin, cout, k, s, p, shape)) in [(8, 72, 3, 2, 1, [1, 6, 5, 8]), (16, 64, 1, 1, 0, [1, 4, 4, 16]),
                                                     (8, 80, 3, 1, 1, [2, 3, 3, 8])].enumerated() {
                let x = GradientCheck.randomTensor(shape, seed: UInt64(40 + i))
                let conv = makeConv(cin, cout, k: k, s: s, p: p, seed: UInt64(i))
                let reference = referenceForward(x, conv)
                XCTAssertLessThan(maxAbsDifference(conv.forward(x, mode: .inference), reference), 1e-5, "case \(i)")
                let residual = GradientCheck.randomTensor(reference.shape, seed: UInt64(50 + i))
                var expected = reference
                expected.add(residual)
                expected = Tensor(shape: expected.shape, scalars: expected.scalars.map { max($0, 0) })
                XCTAssertLessThan(maxAbsDifference(conv.inference(x, then: .addThenReLU(residual)), expected), 1e-5,
                                  "case \(i), fused")
            }
        }
    }

    func testGradients() {
        for (i, (cin, cout, k, s, p, shape)) in configurations.enumerated() {
            for block in [Conv2D.defaultColumnBlockElements, 60] {
                let conv = makeConv(cin, cout, k: k, s: s, p: p, bias: i != 5, seed: UInt64(i))
                conv.columnBlockElements = block
                let x = GradientCheck.randomTensor(shape, seed: UInt64(20 + i))
                assertGradients(input: x, parameters: conv.parameters,
                                forward: { conv.forward($0, mode: .training) }, backward: { conv.backward($0) })
            }
        }
    }

    func testGradientsAccumulateAndRespectFlags() {
        let conv = makeConv(3, 4, k: 3, s: 2, p: 1)
        let x = GradientCheck.randomTensor([2, 7, 5, 3], seed: 3)
        let y = conv.forward(x, mode: .training)
        let dy = GradientCheck.randomTensor(y.shape, seed: 4)
        let dx = conv.backward(dy)
        let once = conv.weight.grad, onceBias = conv.bias!.grad
        _ = conv.backward(dy)
        XCTAssertLessThan(maxAbsDifference(conv.weight.grad, Tensor(shape: once.shape) { 2 * once.scalars[$0] }), 1e-4)
        XCTAssertLessThan(maxAbsDifference(conv.bias!.grad, Tensor(shape: [4]) { 2 * onceBias.scalars[$0] }), 1e-4)

        // No input gradient: same parameter gradients, empty dx.
        conv.zeroGradients()
        conv.computesInputGradient = false
        XCTAssertEqual(conv.backward(dy).count, 0)
        XCTAssertLessThan(maxAbsDifference(conv.weight.grad, once), 1e-6)

        // Frozen: no parameter gradient, dx unchanged.
        conv.zeroGradients()
        conv.computesInputGradient = true
        conv.setFrozen(true)
        XCTAssertLessThan(maxAbsDifference(conv.backward(dy), dx), 1e-6)
        XCTAssertEqual(conv.weight.grad.squaredNorm, 0)
        XCTAssertEqual(conv.bias!.grad.squaredNorm, 0)
    }

    func testParameterNamesAndLayout() {
        let conv = makeConv(3, 8, k: 3)
        XCTAssertEqual(conv.weight.name, "conv.weight")
        XCTAssertEqual(conv.bias?.name, "conv.bias")
        XCTAssertEqual(conv.weight.value.shape, [8, 3, 3, 3])
        XCTAssertEqual(conv.weight.torchLayout, .convolutionOHWI)
        XCTAssertEqual(conv.parameterCount, 8 * 27 + 8)
        // He normal: variance 2 / fanIn.
        let big = makeConv(64, 64, k: 3)
        let variance = big.weight.value.squaredNorm / Double(big.weight.value.count)
        XCTAssertEqual(variance, 2.0 / 576, accuracy: 0.1 * 2.0 / 576)
    }
}
