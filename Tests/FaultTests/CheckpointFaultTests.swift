// Crafted checkpoints (issue 14 items 2, 3, 7, 8): configurations larger than their file, hostile
// field values, non-finite and retyped tensors, backbone weights of another architecture, and input
// sizes a checkpoint's run metadata gets wrong. Each must end in an error naming the file or tensor.
import Foundation
import GliaCore
import GliaData
import GliaTraining
import XCTest

final class CheckpointFaultTests: XCTestCase {
    private var files: FaultFiles!

    override func setUpWithError() throws { files = try FaultFiles.make() }
    override func tearDown() { files?.remove() }

    private func loadError(_ url: URL) -> String {
        do {
            _ = try Checkpoint.loadModel(from: url)
            return ""
        } catch {
            return "\(error)"
        }
    }

    // Item 3: configurations asking for terabytes are refused before anything is allocated.
    func testConfigurationsLargerThanTheirFileAreRefusedBeforeBuilding() throws {
        let source = try files.smallSegmenter()
        let cases = [
            #"{"format":1,"kind":"resunet","resunet":{"filters":[200000,200000],"inputChannels":3,"outputChannels":1}}"#,
            #"{"format":1,"kind":"resunet","resunet":{"filters":[60000,60000],"inputChannels":3,"outputChannels":1}}"#,
            #"{"format":1,"kind":"maskgate","maskgate":{"segmenter":{"filters":[30000,30000,30000],"inputChannels":3,"outputChannels":1}}}"#,
            #"{"classifier":{"backbone":{"block":"basic","blocksPerStage":[100000],"groups":1,"inputChannels":3,"widthPerGroup":64},"classes":2,"dropout":0.3,"hiddenFeatures":256,"imageSize":256,"poolSize":4},"format":1,"kind":"classifier"}"#,
            #"{"classifier":{"backbone":{"block":"basic","blocksPerStage":[1000],"groups":1,"inputChannels":3,"widthPerGroup":64},"classes":2,"dropout":0.3,"hiddenFeatures":256,"imageSize":256,"poolSize":4},"format":1,"kind":"classifier"}"#,
            #"{"classifier":{"backbone":{"block":"basic","blocksPerStage":[1,1,1,1],"groups":1,"inputChannels":3,"widthPerGroup":64},"classes":2,"dropout":0.3,"hiddenFeatures":2000000000,"imageSize":256,"poolSize":4},"format":1,"kind":"classifier"}"#,
            #"{"classifier":{"backbone":{"block":"basic","blocksPerStage":[1,1,1,1],"groups":1,"inputChannels":3,"widthPerGroup":64},"classes":2,"dropout":0.3,"hiddenFeatures":1000000,"imageSize":4096,"poolSize":1},"format":1,"kind":"classifier"}"#,
        ]
        for (i, json) in cases.enumerated() {
            let url = try files.withModelConfiguration(json, from: source, to: "big\(i).safetensors")
            let started = Date()
            let message = loadError(url)
            XCTAssertTrue(message.hasPrefix(url.path), "case \(i): \(message)")
            XCTAssertTrue(message.contains("model configuration"), "case \(i): \(message)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 2, "case \(i) must fail before building anything")
        }
    }

    // Item 3: the bound used for that check never exceeds what a real model holds.
    func testMinimumStateCountIsALowerBoundOfRealModels() throws {
        let configurations: [ModelConfiguration] = [
            .resUNet(.standard), .resUNet(ResUNetConfiguration(filters: [4, 8, 16])),
            .maskGate(MaskGateConfiguration(segmenter: ResUNetConfiguration(filters: [4, 8]))),
            .classifier(ClassifierConfiguration(backbone: .resnet18, imageSize: 128)),
            .classifier(ClassifierConfiguration(backbone: .resnet50, imageSize: 64, poolSize: 2)),
        ]
        for configuration in configurations {
            let model = try configuration.makeModel(seed: 0)
            let actual = (model.parameters.map(\.value) + model.buffers.map(\.value)).reduce(0) { $0 + $1.count }
            XCTAssertLessThanOrEqual(configuration.minimumStateCount, actual, configuration.json)
            XCTAssertGreaterThan(configuration.minimumStateCount, actual / 4, "a useful bound: \(configuration.json)")
        }
    }

    // Item 3: out-of-range fields are named.
    func testOutOfRangeFieldsAreNamed() {
        let bad = [
            (#"{"format":1,"kind":"resunet","resunet":{"filters":[16,32,64,128,256,512,1024,2048,4096],"inputChannels":3,"outputChannels":1}}"#, "filters"),
            (#"{"classifier":{"backbone":{"block":"basic","blocksPerStage":[1,1,1,1],"groups":1,"inputChannels":3,"widthPerGroup":64},"classes":2,"dropout":0.3,"hiddenFeatures":256,"imageSize":9223372036854775807,"poolSize":4},"format":1,"kind":"classifier"}"#, "imageSize"),
            (#"{"classifier":{"backbone":{"block":"basic","blocksPerStage":[1,1,1,1],"groups":1,"inputChannels":3,"widthPerGroup":64},"classes":2,"dropout":0.3,"hiddenFeatures":256,"imageSize":0,"poolSize":1},"format":1,"kind":"classifier"}"#, "imageSize"),
            (#"{"classifier":{"backbone":{"block":"basic","blocksPerStage":[1,1,1,1],"groups":1,"inputChannels":3,"widthPerGroup":64},"classes":2,"dropout":0.3,"hiddenFeatures":256,"imageSize":64,"poolSize":4},"format":1,"kind":"classifier"}"#, "imageSize"),
        ]
        for (json, field) in bad {
            XCTAssertThrowsError(try ModelConfiguration(json: json)) { error in
                XCTAssertTrue("\(error)".contains(field), "\(error)")
            }
        }
    }

    // Item 8: NaN and infinite weights are refused at load with the tensor's name.
    func testNonFiniteWeightsAreRefusedWithTheTensorName() throws {
        for (name, value) in [("nan.safetensors", Float.nan), ("inf.safetensors", Float.infinity)] {
            let url = try files.smallSegmenter(name) { model in
                model.head.parameters[0].value.scalars[0] = value
            }
            let message = loadError(url)
            XCTAssertTrue(message.contains(url.path) && message.contains("head.weight") && message.contains("NaN or infinite"),
                          message)
            XCTAssertThrowsError(try TrainedModel.load(url.path, store: nil))
        }
    }

    // Item 8: a float tensor declared as integers (or the reverse) is not converted.
    func testRetypedTensorsAreRefused() throws {
        let source = try files.smallSegmenter()
        func retype(_ tensor: String, to dtype: String) throws -> URL {
            try files.rewritingHeader(of: source, to: "\(tensor)-\(dtype).safetensors") { header in
                var entry = try XCTUnwrap(header[tensor] as? [String: Any])
                entry["dtype"] = dtype
                header[tensor] = entry
            }
        }
        let asInteger = try retype("head.weight", to: "I32")
        XCTAssertTrue(loadError(asInteger).contains("\"head.weight\" is stored as I32"), loadError(asInteger))
        let counter = try retype("stem.bn1.num_batches_tracked", to: "F64")
        XCTAssertTrue(loadError(counter).contains("stored as F64"), loadError(counter))
        XCTAssertEqual(loadError(source), "", "the untouched file loads")
    }

    // Item 7: only fc.* may go unused when loading backbone weights.
    func testBackboneWeightsOfAnotherArchitectureAreRefused() throws {
        var rng = RandomGenerator(seed: 7)
        let classifier = try ClassifierModel(configuration: ClassifierConfiguration(
            backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]), imageSize: 128), seed: 1)
        func stateDict(of backbone: ResNet, _ name: String) throws -> URL {
            let url = files.url(name)
            let fc = [SafeTensorsRecord(name: "fc.weight", tensor: Tensor(shape: [2, 512])),
                      SafeTensorsRecord(name: "fc.bias", tensor: Tensor(shape: [2]))]
            try SafeTensorsWriter.write(
                backbone.parameters.map { SafeTensorsRecord(name: $0.name, tensor: $0.torchLayout.toTorch($0.value)) }
                    + backbone.buffers.map { SafeTensorsRecord(name: $0.name, tensor: $0.value, dtype: $0.isInteger ? .i64 : .f32) }
                    + fc,
                metadata: [:], to: url)
            return url
        }
        // A deeper ResNet's state_dict: its second layer1 block has no place in the model.
        let deeper = try stateDict(of: ResNet(configuration: ResNetConfiguration(block: .basic, blocksPerStage: [2, 1, 1, 1]),
                                              rng: &rng), "deeper.safetensors")
        XCTAssertThrowsError(try classifier.loadPretrainedBackbone(from: SafeTensorsFile(contentsOf: deeper))) { error in
            XCTAssertTrue("\(error)".contains(deeper.path) && "\(error)".contains("12 unexpected tensor(s): layer1.1."), "\(error)")
            XCTAssertFalse("\(error)".contains("fc.weight"), "fc may go unused: \(error)")
        }
        // The same architecture with torchvision's fc loads: fc is the one part a backbone drops.
        let same = try stateDict(of: ResNet(configuration: classifier.backbone.configuration, rng: &rng), "same.safetensors")
        XCTAssertNoThrow(try classifier.loadPretrainedBackbone(from: SafeTensorsFile(contentsOf: same)))
    }

    // Item 2: a classifier runs at its own configured size, whatever its run metadata lacks.
    func testClassifierInputSizeComesFromItsConfiguration() throws {
        let classifier = try ClassifierModel(configuration: ClassifierConfiguration(
            backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]), imageSize: 128), seed: 1)
        let url = files.url("classifier128.safetensors")
        try Checkpoint.saveModel(classifier, to: url)
        let trained = try TrainedModel.load(url.path, store: nil)
        guard trained.imageSize == 128 else { return XCTFail("read as \(trained.imageSize) px, built for 128") }
        let pipeline = try TwoStagePipeline(classifier: trained, segmenter: nil)
        let p = try XCTUnwrap(pipeline.tumorProbabilities(Tensor(shape: [1, 256, 256, 3])))
        XCTAssertEqual(p.count, 1)
        // A classifier built for 3 px can exist, but 256 px slices cannot be reduced to it.
        let tiny = try ClassifierModel(configuration: ClassifierConfiguration(
            backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1]), imageSize: 3, poolSize: 1), seed: 1)
        let tinyURL = files.url("classifier3.safetensors")
        try Checkpoint.saveModel(tiny, to: tinyURL)
        XCTAssertThrowsError(try TrainedModel.load(tinyURL.path, store: nil)) { error in
            XCTAssertTrue("\(error)".hasPrefix(tinyURL.path) && "\(error)".contains("3 px"), "\(error)")
        }
    }

    // Item 2: image sizes in the run metadata that the model cannot take are errors naming the file.
    func testRunMetadataImageSizesTheModelCannotTakeAreRefused() throws {
        // Four poolings: this segmenter takes multiples of 16 only, so 8 divides 256 and still fails.
        let levels = ResUNetConfiguration(filters: [2, 2, 2, 2, 2])
        for size in [0, 3, 8, 512] {
            var run = RunConfiguration.defaults(for: .segmenter, dataPath: "/data")
            run.imageSize = size
            let json = String(decoding: try JSONEncoder().encode(run), as: UTF8.self)
            let url = try files.smallSegmenter("seg\(size).safetensors", configuration: levels, metadata: ["glia.run": json])
            XCTAssertThrowsError(try TrainedModel.load(url.path, store: nil), "size \(size)") { error in
                XCTAssertTrue("\(error)".hasPrefix(url.path) && "\(error)".contains("\(size) px"), "\(error)")
            }
        }
        var run = RunConfiguration.defaults(for: .segmenter, dataPath: "/data")
        run.imageSize = 64
        let json = String(decoding: try JSONEncoder().encode(run), as: UTF8.self)
        let good = try files.smallSegmenter("seg64.safetensors", metadata: ["glia.run": json])
        XCTAssertEqual(try TrainedModel.load(good.path, store: nil).imageSize, 64)
    }
}
