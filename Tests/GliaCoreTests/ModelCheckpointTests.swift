import Foundation
import GliaCore
import GliaTestSupport
import XCTest

/// A checkpoint alone rebuilds its model; torchvision-named backbones load for transfer learning.
final class ModelCheckpointTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("glia-model-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testCheckpointAloneRebuildsEachModel() throws {
        let models: [any Model] = [
            try ResUNet(configuration: ResUNetConfiguration(filters: [4, 8, 16]), seed: 1),
            try ClassifierModel(configuration: ClassifierConfiguration(
                backbone: ResNetConfiguration(block: .bottleneck, blocksPerStage: [1, 1], widthPerGroup: 32),
                imageSize: 64, poolSize: 2, hiddenFeatures: 8), seed: 2),
        ]
        for (i, model) in models.enumerated() {
            let size = i == 0 ? 16 : 64
            let x = GradientCheck.randomTensor([2, size, size, 3], seed: 3)
            _ = model.forward(x, mode: .training)          // moves the running statistics off their init
            let url = directory.appendingPathComponent("m\(i).safetensors")
            try Checkpoint.saveModel(model, to: url, metadata: ["run": "test", ModelConfiguration.metadataKey: "stale"])

            let (restored, loaded) = try Checkpoint.loadModel(from: url)
            XCTAssertEqual(restored.configuration, model.configuration)
            XCTAssertEqual(loaded.metadata["run"], "test")
            XCTAssertEqual(restored.parameters.map(\.value), model.parameters.map(\.value))
            XCTAssertEqual(restored.buffers.map(\.value), model.buffers.map(\.value))
            XCTAssertEqual(restored.forward(x, mode: .inference), model.forward(x, mode: .inference))
        }
    }

    func testCheckpointWithoutConfigurationNamesFileAndKey() throws {
        let model = try ResUNet(configuration: ResUNetConfiguration(filters: [2, 4]), seed: 1)
        let url = directory.appendingPathComponent("plain.safetensors")
        try Checkpoint.save(model, to: url)
        XCTAssertThrowsError(try Checkpoint.loadModel(from: url)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("plain.safetensors") && text.contains(ModelConfiguration.metadataKey), text)
        }
    }

    /// A torchvision-style file: backbone names, an `fc` layer, no num_batches_tracked.
    func testTorchvisionBackboneLoadsAndTheHeadStays() throws {
        let config = ClassifierConfiguration(backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1]),
                                             imageSize: 64, poolSize: 2, hiddenFeatures: 8)
        let source = try ClassifierModel(configuration: config, seed: 5)
        var records = source.backbone.parameters.map {
            SafeTensorsRecord(name: $0.name, tensor: $0.torchLayout.toTorch($0.value))
        }
        records += source.backbone.buffers.filter { !$0.isInteger }.map { SafeTensorsRecord(name: $0.name, tensor: $0.value) }
        records.append(SafeTensorsRecord(name: "fc.weight", tensor: Tensor(shape: [1000, 128], repeating: 0.5)))
        records.append(SafeTensorsRecord(name: "fc.bias", tensor: Tensor(shape: [1000])))
        let url = directory.appendingPathComponent("resnet-tv.safetensors")
        try SafeTensorsWriter.write(records, to: url)

        let target = try ClassifierModel(configuration: config, seed: 6)
        let head = target.head.parameters.map(\.value)
        try target.loadPretrainedBackbone(from: SafeTensorsFile(contentsOf: url))
        XCTAssertEqual(target.backbone.parameters.map(\.value), source.backbone.parameters.map(\.value))
        XCTAssertEqual(target.head.parameters.map(\.value), head)
        let x = GradientCheck.randomTensor([1, 64, 64, 3], seed: 7)
        XCTAssertEqual(target.features(x), source.features(x))

        // A backbone of another shape is refused, naming the tensor.
        let wider = try ClassifierModel(configuration: ClassifierConfiguration(backbone: .resnet18, imageSize: 64,
                                                                               poolSize: 2), seed: 8)
        XCTAssertThrowsError(try wider.loadPretrainedBackbone(from: SafeTensorsFile(contentsOf: url))) { error in
            XCTAssert("\(error)".contains("missing"), "\(error)")
        }
    }

    /// The parity fixture's backbone (torchvision names, plus head and fixture entries that must be
    /// ignored) gives PyTorch's features.
    func testParityFixtureBackboneGivesPyTorchFeatures() throws {
        let file = try parityFixture("resnet.safetensors")
        let model = try ClassifierModel(configuration: ClassifierConfiguration(
            backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]), imageSize: 128), seed: 0)
        // The fixture also holds inputs, outputs and gradients, which a backbone file may not
        // (loadPretrainedBackbone lets only fc.* go unused), so its state is loaded by name.
        try Checkpoint.load(into: model.backbone, from: file, options: CheckpointLoadOptions(allowUnexpected: true))
        let x = try file.tensor(named: "input.x").nchwToNHWC()
        let error = ParityMetric.maxAbs(model.features(x).nhwcToNCHW(), try file.tensor(named: "eval.features"))
        XCTAssertLessThan(error, 5e-4)
    }
}
