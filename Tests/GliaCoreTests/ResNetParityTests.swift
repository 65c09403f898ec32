import GliaCore
import GliaTestSupport
import XCTest

/// torchvision's ResNet(BasicBlock, [1,1,1,1]) + the seed head against PyTorch
/// (fixtures/parity/resnet.safetensors): features, logits, cross-entropy, running statistics and
/// gradients, loaded by torchvision state_dict names. Dropout is the identity in the fixture's
/// train pass, so the model is built with dropout 0.
final class ResNetParityTests: XCTestCase {
    private let configuration = ClassifierConfiguration(
        backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]),
        imageSize: 128, poolSize: 4, hiddenFeatures: 256, dropout: 0, classes: 2)

    private func loadedModel(_ file: SafeTensorsFile) throws -> ClassifierModel {
        let model = try ClassifierModel(configuration: configuration, seed: 0)
        try Checkpoint.load(into: model, from: file, options: CheckpointLoadOptions(allowUnexpected: true))
        return model
    }

    func testResNetMatchesPyTorch() throws {
        let file = try parityFixture("resnet.safetensors")
        let x = try file.tensor(named: "input.x").nchwToNHWC()
        let labels = try file.tensor(named: "input.labels").scalars.map { Int($0) }
        var report = ParityReport(title: "ResNet parity")
        func features(_ key: String, _ t: Tensor) throws {
            report.record("features", metric: "max abs", tolerance: 5e-4,
                          error: ParityMetric.maxAbs(t.nhwcToNCHW(), try file.tensor(named: key)), key: key)
        }
        func logits(_ key: String, _ t: Tensor) throws {
            report.record("logits", metric: "max abs", tolerance: 5e-6,
                          error: ParityMetric.maxAbs(t, try file.tensor(named: key)), key: key)
        }

        let model = try loadedModel(file)
        try features("eval.features", model.features(x))
        try logits("eval.logits", model.forward(x, mode: .inference))
        // The backbone's train-mode output, from a second copy so that the model below sees the
        // initial running statistics.
        try features("train.features", try loadedModel(file).backbone.forward(x, mode: .training))

        model.computesInputGradient = true
        model.zeroGradients()
        let z = model.forward(x, mode: .training)
        try logits("train.logits", z)
        let ce = try SoftmaxCrossEntropy().evaluate(logits: z, labels: labels)
        report.record("loss.ce", metric: "rel", tolerance: 2e-6,
                      error: ParityMetric.relative(Double(ce.value), Double(try file.tensor(named: "loss.ce").scalars[0])),
                      key: "loss.ce")
        let dx = try XCTUnwrap(model.backward(ce.gradient)).nhwcToNCHW()
        report.record("grad.input.x", metric: "rel L2", tolerance: 2e-5,
                      error: ParityMetric.relativeL2(dx, try file.tensor(named: "grad.input.x")), key: "grad.input.x")

        for b in model.buffers {
            let key = "train_stats.\(b.name)"
            guard file.entries[key] != nil else { continue }
            report.record("train_stats", metric: "max abs/max|ref|", tolerance: 5e-6,
                          error: ParityMetric.maxAbsOverMaxRef(b.value, try file.tensor(named: key)), key: key)
        }

        var gradients = 0
        for param in model.parameters {
            let g = param.torchLayout.toTorch(param.grad)
            if file.entries["grad.\(param.name)"] != nil {
                report.record("grad, gradrows, gradnorm", metric: "rel L2/tensor", tolerance: 1e-4,
                              error: ParityMetric.relativeL2(g, try file.tensor(named: "grad.\(param.name)")),
                              key: "grad.\(param.name)")
                gradients += 1
            }
            if file.entries["gradrows.\(param.name)"] != nil {
                let rows = try file.tensor(named: "gradrows.\(param.name)")
                let index = try file.tensor(named: "gradrows.\(param.name).index").scalars.map { Int($0) }
                report.record("grad, gradrows, gradnorm", metric: "rel L2/tensor", tolerance: 1e-4,
                              error: ParityMetric.relativeL2(g.rows(index), rows), key: "gradrows.\(param.name)")
                gradients += 1
            }
            let norm = try file.tensor(named: "gradnorm.\(param.name)").scalars[0]
            report.record("grad, gradrows, gradnorm", metric: "rel L2/tensor", tolerance: 1e-4,
                          error: ParityMetric.relative(g.squaredNorm.squareRoot(), Double(norm)),
                          key: "gradnorm.\(param.name)")
        }
        XCTAssertEqual(gradients, 11, "the fixture stores 10 full gradients and one row sample")
        XCTAssertEqual(report.rows.count, 6)
        report.assertWithinTolerances()
    }
}
