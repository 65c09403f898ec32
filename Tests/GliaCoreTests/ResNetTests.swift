import GliaCore
import GliaTestSupport
import XCTest

/// Structure (torchvision names, shapes, counts), gradients and the frozen-backbone path of the ResNets.
final class ResNetTests: XCTestCase {
    private func shapes(_ layer: any Layer) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: layer.parameters.map { ($0.name, $0.value.shape) }
            + layer.buffers.map { ($0.name, $0.value.shape) })
    }

    func testTorchvisionParameterCountsAndNames() throws {
        // torchvision totals minus fc (512*1000+1000 for 18/34, 2048*1000+1000 for 50).
        var rng = RandomGenerator(seed: 1)
        let r18 = try ResNet(configuration: .resnet18, rng: &rng)
        XCTAssertEqual(r18.parameterCount, 11_689_512 - 513_000)
        XCTAssertEqual(r18.buffers.count, 20 * 3)
        let r50 = try ResNet(configuration: .resnet50, rng: &rng)
        XCTAssertEqual(r50.parameterCount, 25_557_032 - 2_049_000)
        XCTAssertEqual(r50.buffers.count, 53 * 3)

        let s = shapes(r50)
        XCTAssertEqual(s["conv1.weight"], [64, 7, 7, 3])
        XCTAssertEqual(s["layer1.0.conv1.weight"], [64, 1, 1, 64])
        XCTAssertEqual(s["layer1.0.downsample.0.weight"], [256, 1, 1, 64])
        XCTAssertEqual(s["layer2.0.conv2.weight"], [128, 3, 3, 128])
        XCTAssertEqual(s["layer4.2.conv3.weight"], [2048, 1, 1, 512])
        XCTAssertEqual(s["layer4.2.bn3.num_batches_tracked"], [1])
        XCTAssertNil(s["layer1.1.downsample.0.weight"])
        // State_dict order: the stem first, then stage by stage.
        XCTAssertEqual(r50.parameters.prefix(4).map(\.name),
                       ["conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight"])
        XCTAssertEqual(r50.parameters.last?.name, "layer4.2.bn3.bias")

        // Stride sits on the bottleneck's 3x3 (torchvision v1.5), not on its first 1x1.
        let b = try XCTUnwrap(r50.stages[1][0] as? Bottleneck)
        XCTAssertEqual(b.conv1.stride, 1)
        XCTAssertEqual(b.conv2.stride, 2)
        XCTAssertEqual(b.downsample?.conv.stride, 2)
    }

    func testWidthPerGroupAndBlocksPerStage() throws {
        var rng = RandomGenerator(seed: 2)
        let wide = ResNetConfiguration(block: .bottleneck, blocksPerStage: [1, 2], widthPerGroup: 128)
        let net = try ResNet(configuration: wide, rng: &rng)
        let s = shapes(net)
        XCTAssertEqual(s["layer1.0.conv1.weight"], [128, 1, 1, 64])     // width = 64 * 128/64
        XCTAssertEqual(s["layer2.1.conv2.weight"], [256, 3, 3, 256])
        XCTAssertEqual(s["layer2.1.conv3.weight"], [512, 1, 1, 256])    // planes * 4, independent of width
        XCTAssertNil(s["layer3.0.conv1.weight"])
        XCTAssertEqual(wide.featureChannels, 512)

        var bad = ResNetConfiguration.resnet18
        bad.widthPerGroup = 128
        XCTAssertThrowsError(try ResNet(configuration: bad, rng: &rng))
        bad = .resnet50
        bad.groups = 32
        XCTAssertThrowsError(try ResNet(configuration: bad, rng: &rng)) { error in
            XCTAssert("\(error)".contains("groups"), "\(error)")
        }
    }

    func testFeatureShapesFollowTheInputSize() throws {
        var rng = RandomGenerator(seed: 3)
        let config = ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1])
        let net = try ResNet(configuration: config, rng: &rng)
        for size in [32, 40, 33] {
            let x = GradientCheck.randomTensor([2, size, size, 3], seed: 4)
            let y = net.forward(x, mode: .inference)
            let f = config.featureSize(forInput: size)
            XCTAssertEqual(y.shape, [2, f, f, 256], "input \(size)")
        }
        XCTAssertEqual(ResNetConfiguration.resnet50.featureSize(forInput: 256), 8)
        XCTAssertEqual(ResNetConfiguration.resnet18.featureSize(forInput: 128), 4)
    }

    /// Finite differences through a one-block bottleneck network (projection, stride 2 on the 3x3)
    /// and the seed head: input, stem, block and head gradients.
    func testBottleneckClassifierGradients() throws {
        let config = ClassifierConfiguration(
            backbone: ResNetConfiguration(block: .bottleneck, blocksPerStage: [1, 1], widthPerGroup: 16),
            imageSize: 24, poolSize: 1, hiddenFeatures: 8, dropout: 0)
        let model = try ClassifierModel(configuration: config, seed: 5)
        model.computesInputGradient = true
        let x = GradientCheck.randomTensor([2, 24, 24, 3], seed: 6)
        let r = GradientCheck.randomTensor([2, 2], seed: 7)
        func loss() -> Double { GradientCheck.projection(model.forward(x, mode: .training), r) }

        model.zeroGradients()
        _ = model.forward(x, mode: .training)
        let dx = try XCTUnwrap(model.backward(r))
        XCTAssertEqual(dx.shape, x.shape)

        var probe = x
        let xi = GradientCheck.probeIndices(count: x.count, limit: 12)
        let nx = GradientCheck.numericGradient(indices: xi, get: { probe.scalars[$0] },
                                               set: { probe.scalars[$0] = $1 }, epsilon: 1e-3) {
            GradientCheck.projection(model.forward(probe, mode: .training), r)
        }
        XCTAssertLessThan(GradientCheck.relativeError(analytic: xi.map { dx.scalars[$0] }, numeric: nx), 2e-2)

        let names = ["conv1.weight", "bn1.weight", "layer1.0.conv2.weight", "layer2.0.conv3.weight",
                     "layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias", "head.fc1.weight", "head.fc2.bias"]
        for p in model.parameters where names.contains(p.name) {
            let idx = GradientCheck.probeIndices(count: p.value.count, limit: 8)
            let analytic = idx.map { p.grad.scalars[$0] }
            let numeric = GradientCheck.numericGradient(indices: idx, get: { p.value.scalars[$0] },
                                                        set: { p.value.scalars[$0] = $1 }, epsilon: 1e-3, loss: loss)
            XCTAssertLessThan(GradientCheck.relativeError(analytic: analytic, numeric: numeric), 2e-2, p.name)
        }
    }

    func testFrozenBackboneDoesNoBackwardWorkAndKeepsItsState() throws {
        let config = ClassifierConfiguration(backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1]),
                                             imageSize: 64, poolSize: 2, hiddenFeatures: 16, dropout: 0)
        let model = try ClassifierModel(configuration: config, seed: 8)
        model.freezeBackbone = true
        model.computesInputGradient = true
        XCTAssert(model.backbone.parameters.allSatisfy(\.isFrozen))
        XCTAssert(model.head.parameters.allSatisfy { !$0.isFrozen })
        XCTAssertEqual(model.trainableParameters.map(\.name), model.head.parameters.map(\.name))
        let before = model.backbone.buffers.map(\.value)

        let x = GradientCheck.randomTensor([3, 64, 64, 3], seed: 9)
        model.zeroGradients()
        let logits = model.forward(x, mode: .training)
        XCTAssertNil(model.backward(GradientCheck.randomTensor([3, 2], seed: 10)))
        XCTAssert(model.backbone.parameters.allSatisfy { $0.grad.squaredNorm == 0 })
        XCTAssert(model.head.parameters.allSatisfy { $0.grad.squaredNorm > 0 })
        XCTAssertEqual(model.backbone.buffers.map(\.value), before, "running statistics must not move")

        // Cached features give the same logits and the same head gradients.
        let headGrads = model.head.parameters.map(\.grad)
        model.zeroGradients()
        let cached = model.features(x)
        XCTAssertEqual(model.forwardHead(cached, mode: .training), logits)
        model.backwardHead(GradientCheck.randomTensor([3, 2], seed: 10))
        XCTAssertEqual(model.head.parameters.map(\.grad), headGrads)

        // Unfrozen again: the backbone trains (batch statistics, gradients).
        model.freezeBackbone = false
        model.zeroGradients()
        _ = model.forward(x, mode: .training)
        XCTAssertNotNil(model.backward(GradientCheck.randomTensor([3, 2], seed: 10)))
        XCTAssertGreaterThan(model.backbone.conv1.weight.grad.squaredNorm, 0)
        XCTAssertNotEqual(model.backbone.buffers.map(\.value), before)
    }
}
