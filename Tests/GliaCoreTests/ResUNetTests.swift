import GliaCore
import GliaTestSupport
import XCTest

/// Structure and finite-difference gradients of the ResUNet.
final class ResUNetTests: XCTestCase {
    func testStructureMatchesTheFixtureModel() throws {
        let net = try ResUNet(configuration: .standard, seed: 1)
        XCTAssertEqual(net.parameterCount, 1_206_129)                 // fixtures/parity/README.md
        XCTAssertEqual(net.parameters.count, 106)
        XCTAssertEqual(net.buffers.count, 26 * 3)
        let shapes = Dictionary(uniqueKeysWithValues: net.parameters.map { ($0.name, $0.value.shape) })
        XCTAssertEqual(shapes["stem.conv1.weight"], [16, 3, 3, 3])
        XCTAssertEqual(shapes["enc1.main_conv1.weight"], [32, 1, 1, 16])
        XCTAssertEqual(shapes["bottleneck.main_conv2.weight"], [256, 3, 3, 256])
        XCTAssertEqual(shapes["dec1.skip_conv.weight"], [128, 1, 1, 384])
        XCTAssertEqual(shapes["dec4.main_conv1.weight"], [16, 1, 1, 48])
        XCTAssertEqual(shapes["head.weight"], [1, 1, 1, 16])
        XCTAssertEqual(shapes["head.bias"], [1])
        XCTAssertNil(shapes["enc4.main_conv1.weight"])
        XCTAssertEqual(net.parameters.prefix(3).map(\.name), ["stem.conv1.weight", "stem.conv1.bias", "stem.bn1.weight"])
        XCTAssertEqual(net.buffers.last?.name, "dec4.skip_bn.num_batches_tracked")
    }

    func testOutputIsAProbabilityMapOfTheInputSize() throws {
        let net = try ResUNet(configuration: ResUNetConfiguration(filters: [4, 8, 16]), seed: 2)
        let x = GradientCheck.randomTensor([2, 12, 16, 3], seed: 3)
        for mode in [ForwardMode.inference, .training] {
            let p = net.forward(x, mode: mode)
            XCTAssertEqual(p.shape, [2, 12, 16, 1])
            XCTAssert(p.scalars.allSatisfy { $0 > 0 && $0 < 1 })
        }
        XCTAssertThrowsError(try ResUNet(configuration: ResUNetConfiguration(filters: [8]), seed: 0)) { error in
            XCTAssert("\(error)".contains("filters"), "\(error)")
        }
    }

    /// Finite differences through a two-level ResUNet with two output channels in training mode:
    /// input, stem, bottleneck, decoder (both concatenated halves) and head. Deeper nets are proven
    /// by the parity test instead: with more levels the train-mode BatchNorms over small maps make
    /// the loss so kinked (ReLU before BN in the stem, max-pool near-ties) that float32 finite
    /// differences disagree with the exact gradient by 5-30 % at any usable step.
    func testGradientsMatchFiniteDifferences() throws {
        let net = try ResUNet(configuration: ResUNetConfiguration(filters: [4, 8], outputChannels: 2), seed: 4)
        net.computesInputGradient = true
        let x = GradientCheck.randomTensor([2, 32, 32, 3], seed: 5)
        let r = GradientCheck.randomTensor([2, 32, 32, 2], seed: 6)
        func loss() -> Double { GradientCheck.projection(net.forward(x, mode: .training), r) }

        net.zeroGradients()
        _ = net.forward(x, mode: .training)
        let dx = try XCTUnwrap(net.backward(r))

        var probe = x
        let xi = GradientCheck.probeIndices(count: x.count, limit: 16)
        let nx = GradientCheck.numericGradient(indices: xi, get: { probe.scalars[$0] },
                                               set: { probe.scalars[$0] = $1 }, epsilon: 1e-3) {
            GradientCheck.projection(net.forward(probe, mode: .training), r)
        }
        XCTAssertLessThan(GradientCheck.relativeError(analytic: xi.map { dx.scalars[$0] }, numeric: nx), 2e-2)

        // Residual-block conv biases and stem.bn2.bias feed only train-mode BatchNorms: zero by maths.
        let zeroByMaths = { (name: String) in
            ["main_conv1.bias", "main_conv2.bias", "skip_conv.bias"].contains { name.hasSuffix($0) }
                || name == "stem.bn2.bias"
        }
        let largest = net.parameters.map { $0.grad.scalars.map(abs).max() ?? 0 }.max() ?? 0
        for p in net.parameters {
            if zeroByMaths(p.name) {
                XCTAssertLessThan(p.grad.scalars.map(abs).max() ?? 0, 1e-4 * largest, p.name)
                continue
            }
            let idx = GradientCheck.probeIndices(count: p.value.count, limit: 6)
            let analytic = idx.map { p.grad.scalars[$0] }
            let numeric = GradientCheck.numericGradient(indices: idx, get: { p.value.scalars[$0] },
                                                        set: { p.value.scalars[$0] = $1 }, epsilon: 1e-3, loss: loss)
            XCTAssertLessThan(GradientCheck.relativeError(analytic: analytic, numeric: numeric), 3e-2, p.name)
        }
    }
}
