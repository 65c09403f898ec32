import GliaCore
import XCTest

/// Inference with BatchNorm folded into the convolution before it and the ReLU or residual sum fused
/// into the output pass, against the same layers run one by one; and the folded weights following
/// every change to the tensors they come from.
final class FusedInferenceTests: XCTestCase {
    /// A BatchNorm with non-trivial γ, β and running statistics, as after training.
    private func trainedBatchNorm(_ name: String, channels: Int, rng: inout RandomGenerator) -> BatchNorm2D {
        let bn = BatchNorm2D(name: name, channels: channels)
        bn.weight.value = Tensor(shape: [channels]) { _ in rng.uniform(0.5, 1.5) }
        bn.bias.value = Tensor(shape: [channels]) { _ in rng.uniform(-0.5, 0.5) }
        bn.runningMean.value = Tensor(shape: [channels]) { _ in rng.uniform(-0.3, 0.3) }
        bn.runningVar.value = Tensor(shape: [channels]) { _ in rng.uniform(0.2, 2) }
        return bn
    }

    private func relu(_ t: Tensor) -> Tensor { ReLU().forward(t, mode: .inference) }

    private func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        var out = a
        out.add(b)
        return out
    }

    func testFoldedConvolutionMatchesConvThenBatchNormForEveryEpilogue() {
        var rng = RandomGenerator(seed: 11)
        for (bias, kernel, stride) in [(true, 3, 1), (false, 3, 2), (false, 1, 1), (true, 7, 2)] {
            let conv = Conv2D(name: "c", inChannels: 5, outChannels: 12, kernelSize: kernel, stride: stride,
                              padding: kernel / 2, bias: bias, rng: &rng)
            let bn = trainedBatchNorm("b", channels: 12, rng: &rng)
            let folded = ConvBatchNorm(conv, bn)
            let x = Tensor(shape: [2, 14, 14, 5]) { _ in rng.uniform(-1, 1) }
            let plain = bn.forward(conv.forward(x, mode: .inference), mode: .inference)
            let residual = Tensor(shape: plain.shape) { _ in rng.uniform(-1, 1) }
            let label = "bias \(bias), k \(kernel), stride \(stride)"
            XCTAssertLessThan(maxAbsDifference(folded.inference(x), plain), 1e-5, label)
            XCTAssertLessThan(maxAbsDifference(folded.inference(x, then: .relu), relu(plain)), 1e-5, label)
            XCTAssertLessThan(maxAbsDifference(folded.inference(x, then: .addThenReLU(residual)),
                                               relu(sum(plain, residual))), 1e-5, label)
        }
    }

    func testConvolutionEpiloguesMatchTheSeparateLayers() {
        var rng = RandomGenerator(seed: 12)
        // 13 output channels: the 8-wide loop and the scalar tail both run.
        let conv = Conv2D(name: "c", inChannels: 4, outChannels: 13, kernelSize: 3, padding: 1, rng: &rng)
        let x = Tensor(shape: [3, 9, 9, 4]) { _ in rng.uniform(-1, 1) }
        let plain = conv.forward(x, mode: .inference)
        let residual = Tensor(shape: plain.shape) { _ in rng.uniform(-1, 1) }
        XCTAssertEqual(conv.inference(x, then: .plain), plain)
        XCTAssertEqual(conv.inference(x, then: .relu), relu(plain))
        XCTAssertLessThan(maxAbsDifference(conv.inference(x, then: .addThenReLU(residual)), relu(sum(plain, residual))), 1e-6)
    }

    func testFoldedWeightsFollowEveryChangeToTheirSources() {
        var rng = RandomGenerator(seed: 13)
        let conv = Conv2D(name: "c", inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, rng: &rng)
        let bn = trainedBatchNorm("b", channels: 8, rng: &rng)
        let folded = ConvBatchNorm(conv, bn)
        let x = Tensor(shape: [2, 8, 8, 3]) { _ in rng.uniform(-1, 1) }
        func check(_ what: String) {
            let expected = bn.forward(conv.forward(x, mode: .inference), mode: .inference)
            XCTAssertLessThan(maxAbsDifference(folded.inference(x), expected), 1e-5, "after \(what)")
        }
        check("the first fold")
        // An optimizer step changes values in place.
        conv.weight.value.scalars.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] *= 1.5 } }
        check("an in-place weight change")
        conv.bias!.value = Tensor(shape: [8], repeating: 0.25)
        check("a new conv bias")
        bn.weight.value.scalars[3] = -2
        bn.bias.value.scalars[0] = 1
        check("new γ and β")
        // A training forward moves the running statistics.
        _ = bn.forward(conv.forward(x, mode: .training), mode: .training)
        check("a training forward")
        bn.runningVar.value = Tensor(shape: [8], repeating: 3)
        check("a loaded running variance")
    }

    func testVersionsCountEveryChange() {
        let p = Parameter(name: "w", value: Tensor(shape: [4]))
        let start = p.version
        p.value.scalars[0] = 1
        p.value.scalars.withUnsafeMutableBufferPointer { $0[1] = 2 }
        p.value = Tensor(shape: [4], repeating: 3)
        XCTAssertEqual(p.version, start + 3)
        let b = Buffer(name: "m", value: Tensor(shape: [2]))
        b.value.scalars[1] = 5
        XCTAssertEqual(b.version, 1)
    }

    func testResidualBlocksInferenceMatchesTheirLayersOneByOne() throws {
        var rng = RandomGenerator(seed: 14)
        func randomize(_ layer: any Layer) {
            for buffer in layer.buffers where !buffer.isInteger {
                let isVariance = buffer.name.hasSuffix("running_var")
                buffer.value = Tensor(shape: buffer.value.shape) { _ in isVariance ? rng.uniform(0.3, 2) : rng.uniform(-0.2, 0.2) }
            }
            for p in layer.parameters where p.name.contains("bn") {
                p.value = Tensor(shape: p.value.shape) { _ in rng.uniform(0.5, 1.5) }
            }
        }
        let x = Tensor(shape: [2, 8, 8, 16]) { _ in rng.uniform(-1, 1) }

        let basic = BasicBlock(name: "b", inChannels: 16, planes: 32, stride: 2, rng: &rng)
        randomize(basic)
        let ds = try XCTUnwrap(basic.downsample)
        var h = relu(basic.bn1.forward(basic.conv1.forward(x, mode: .inference), mode: .inference))
        h = basic.bn2.forward(basic.conv2.forward(h, mode: .inference), mode: .inference)
        let basicRef = relu(sum(h, ds.bn.forward(ds.conv.forward(x, mode: .inference), mode: .inference)))
        XCTAssertLessThan(maxAbsDifference(basic.forward(x, mode: .inference), basicRef), 1e-5, "BasicBlock")

        let bottleneck = Bottleneck(name: "n", inChannels: 16, planes: 8, stride: 1, widthPerGroup: 64, rng: &rng)
        randomize(bottleneck)
        let bds = try XCTUnwrap(bottleneck.downsample)
        var m = relu(bottleneck.bn1.forward(bottleneck.conv1.forward(x, mode: .inference), mode: .inference))
        m = relu(bottleneck.bn2.forward(bottleneck.conv2.forward(m, mode: .inference), mode: .inference))
        m = bottleneck.bn3.forward(bottleneck.conv3.forward(m, mode: .inference), mode: .inference)
        let bottleneckRef = relu(sum(m, bds.bn.forward(bds.conv.forward(x, mode: .inference), mode: .inference)))
        XCTAssertLessThan(maxAbsDifference(bottleneck.forward(x, mode: .inference), bottleneckRef), 1e-5, "Bottleneck")

        let block = ResUNetBlock(name: "enc1", inChannels: 16, filters: 8, rng: &rng)
        randomize(block)
        var u = relu(block.mainBN1.forward(block.mainConv1.forward(x, mode: .inference), mode: .inference))
        u = block.mainBN2.forward(block.mainConv2.forward(u, mode: .inference), mode: .inference)
        let blockRef = relu(sum(u, block.skipBN.forward(block.skipConv.forward(x, mode: .inference), mode: .inference)))
        XCTAssertLessThan(maxAbsDifference(block.forward(x, mode: .inference), blockRef), 1e-5, "ResUNetBlock")
    }

    func testTrainingAfterFusedInferenceStillBackpropagates() {
        // A fused inference drops the training caches; the next training forward fills them again.
        var rng = RandomGenerator(seed: 15)
        let block = BasicBlock(name: "b", inChannels: 8, planes: 8, stride: 1, rng: &rng)
        let x = Tensor(shape: [2, 6, 6, 8]) { _ in rng.uniform(-1, 1) }
        let y = block.forward(x, mode: .training)
        _ = block.forward(x, mode: .inference)
        _ = block.forward(x, mode: .training)
        let dx = block.backward(Tensor(shape: y.shape, repeating: 1))
        XCTAssertEqual(dx.shape, x.shape)
        XCTAssertTrue(dx.isFinite)
    }
}
