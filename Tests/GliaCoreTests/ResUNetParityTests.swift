import GliaCore
import GliaTestSupport
import XCTest

/// The ResUNet against PyTorch (fixtures/parity/resunet.safetensors): eval and train outputs, the
/// four mask losses, running statistics after the train forward, every gradient, and one Adam step,
/// each with the README's metric and tolerance. Activations are compared in NCHW, weights in OIHW.
final class ResUNetParityTests: XCTestCase {
    /// The 24 residual-block conv biases and stem.bn2.bias: a train-mode BatchNorm removes any
    /// per-channel constant they add, so their gradient is zero by maths (stored values are noise).
    private func isZeroByMaths(_ name: String) -> Bool {
        ["main_conv1.bias", "main_conv2.bias", "skip_conv.bias"].contains { name.hasSuffix($0) }
            || name == "stem.bn2.bias"
    }

    func testResUNetMatchesPyTorch() throws {
        let file = try parityFixture("resunet.safetensors")
        let net = try ResUNet(configuration: .standard, seed: 0)
        try Checkpoint.load(into: net, from: file, options: CheckpointLoadOptions(allowUnexpected: true))
        net.computesInputGradient = true
        let x = try file.tensor(named: "input.x").nchwToNHWC()
        let y = try file.tensor(named: "input.y").nchwToNHWC()
        var report = ParityReport(title: "ResUNet parity")

        let evalOut = net.forward(x, mode: .inference).nhwcToNCHW()
        report.record("eval.out, train.out", metric: "max abs", tolerance: 5e-5,
                      error: ParityMetric.maxAbs(evalOut, try file.tensor(named: "eval.out")), key: "eval.out")

        net.zeroGradients()
        let p = net.forward(x, mode: .training)
        report.record("eval.out, train.out", metric: "max abs", tolerance: 5e-5,
                      error: ParityMetric.maxAbs(p.nhwcToNCHW(), try file.tensor(named: "train.out")), key: "train.out")
        let focal = try FocalTverskyLoss().evaluate(probabilities: p, targets: y)
        let losses: [(String, Float)] = [
            ("bce", try BinaryCrossEntropy().evaluate(probabilities: p, targets: y).value),
            ("dice", try DiceLoss().evaluate(probabilities: p, targets: y).value),
            ("tversky", try TverskyLoss().evaluate(probabilities: p, targets: y).value),
            ("focal_tversky", focal.value),
        ]
        for (name, value) in losses {
            let ref = try file.tensor(named: "loss.\(name)").scalars[0]
            report.record("loss.*", metric: "rel", tolerance: 1e-6,
                          error: ParityMetric.relative(Double(value), Double(ref)), key: "loss.\(name)")
        }

        let dx = try XCTUnwrap(net.backward(focal.gradient)).nhwcToNCHW()
        report.record("grad.input.x", metric: "rel L2", tolerance: 5e-5,
                      error: ParityMetric.relativeL2(dx, try file.tensor(named: "grad.input.x")), key: "grad.input.x")

        for b in net.buffers where !b.isInteger {
            let key = "train_stats.\(b.name)"
            report.record("train_stats", metric: "max abs/max|ref|", tolerance: 2e-6,
                          error: ParityMetric.maxAbsOverMaxRef(b.value, try file.tensor(named: key)), key: key)
        }
        XCTAssert(net.buffers.filter(\.isInteger).allSatisfy { $0.value.scalars == [1] },
                  "num_batches_tracked must count the train forward")

        for param in net.parameters {
            let g = param.torchLayout.toTorch(param.grad)
            if isZeroByMaths(param.name) {
                report.record("zero grads", metric: "max abs", tolerance: 1e-6,
                              error: g.scalars.reduce(0) { max($0, abs(Double($1))) }, key: param.name)
                continue
            }
            if file.entries["grad.\(param.name)"] != nil {
                report.record("grad, gradrows, gradnorm", metric: "rel L2/tensor", tolerance: 1e-4,
                              error: ParityMetric.relativeL2(g, try file.tensor(named: "grad.\(param.name)")),
                              key: "grad.\(param.name)")
            } else {
                let rows = try file.tensor(named: "gradrows.\(param.name)")
                let index = try file.tensor(named: "gradrows.\(param.name).index").scalars.map { Int($0) }
                report.record("grad, gradrows, gradnorm", metric: "rel L2/tensor", tolerance: 1e-4,
                              error: ParityMetric.relativeL2(g.rows(index), rows), key: "gradrows.\(param.name)")
            }
            let norm = try file.tensor(named: "gradnorm.\(param.name)").scalars[0]
            report.record("grad, gradrows, gradnorm", metric: "rel L2/tensor", tolerance: 1e-4,
                          error: ParityMetric.relative(g.squaredNorm.squareRoot(), Double(norm)),
                          key: "gradnorm.\(param.name)")
        }

        // One Adam step from the stored gradients (the zero-by-maths ones are noise whose sign decides
        // Adam's first step, so our own would not reproduce them).
        for param in net.parameters {
            param.grad = param.torchLayout.fromTorch(try file.tensor(named: "grad.\(param.name)", orRowsOf: param))
        }
        let adam = try Adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        adam.step(net.parameters)
        var adamChecked = 0
        for param in net.parameters where file.entries["adam.\(param.name)"] != nil {
            report.record("adam.*", metric: "max abs", tolerance: 1e-6,
                          error: ParityMetric.maxAbs(param.torchLayout.toTorch(param.value),
                                                     try file.tensor(named: "adam.\(param.name)")),
                          key: "adam.\(param.name)")
            adamChecked += 1
        }
        XCTAssertEqual(adamChecked, 89, "the fixture holds Adam results for the 89 small parameters")
        report.assertWithinTolerances()
    }
}

private extension SafeTensorsFile {
    /// The stored gradient of `param`, or zeros when only some rows were stored (the fixture keeps
    /// no Adam result for those parameters, so their step is not compared).
    func tensor(named name: String, orRowsOf param: Parameter) throws -> Tensor {
        entries[name] != nil ? try tensor(named: name) : Tensor(shape: param.torchLayout.torchShape(param.value.shape))
    }
}
