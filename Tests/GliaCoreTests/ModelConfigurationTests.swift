import GliaCore
import GliaTestSupport
import XCTest

/// Configurations survive JSON (checkpoint metadata) and rebuild the same model; bad input throws.
final class ModelConfigurationTests: XCTestCase {
    func testMetadataRoundTripRebuildsTheModel() throws {
        let configs: [ModelConfiguration] = [
            .resUNet(.standard),
            .classifier(ClassifierConfiguration(backbone: .resnet18)),
            .classifier(ClassifierConfiguration(
                backbone: ResNetConfiguration(block: .bottleneck, blocksPerStage: [1, 2], widthPerGroup: 32,
                                              inputChannels: 1),
                imageSize: 128, poolSize: 2, hiddenFeatures: 32, dropout: 0.5, classes: 3)),
        ]
        for config in configs {
            let metadata = config.metadata
            let restored = try ModelConfiguration(metadata: metadata)
            XCTAssertEqual(restored, config)
            XCTAssertEqual(restored.json, config.json, "encoding must be stable")
            let a = try config.makeModel(seed: 3)
            let b = try restored.makeModel(seed: 3)
            XCTAssertEqual(a.configuration, config)
            XCTAssertEqual(a.stateNames, b.stateNames)
            XCTAssertEqual(a.parameters.map(\.value), b.parameters.map(\.value), "same seed, same weights")
        }
    }

    func testJSONLayoutIsTheDocumentedOne() throws {
        // The checkpoint metadata format: changing it breaks existing checkpoints.
        XCTAssertEqual(ModelConfiguration.resUNet(.standard).json,
                       #"{"format":1,"kind":"resunet","resunet":{"filters":[16,32,64,128,256],"inputChannels":3,"outputChannels":1}}"#)
        let classifier = ModelConfiguration.classifier(ClassifierConfiguration(backbone: .resnet50)).json
        XCTAssert(classifier.hasPrefix(#"{"classifier":{"backbone":{"block":"bottleneck","blocksPerStage":[3,4,6,3],"#), classifier)
        XCTAssert(classifier.hasSuffix(#""format":1,"kind":"classifier"}"#), classifier)
    }

    func testSeedHeadWidthFollowsTheSeed() throws {
        // 256x256 input, ResNet-50: 8x8x2048 features -> AvgPool 4 -> 2x2x2048 -> 8192 inputs to fc1.
        let c50 = ClassifierConfiguration(backbone: .resnet50)
        XCTAssertEqual(c50.featureSize, 8)
        XCTAssertEqual(c50.headInputFeatures, 8192)
        XCTAssertEqual(ClassifierConfiguration(backbone: .resnet18).headInputFeatures, 2048)
        XCTAssertEqual(ClassifierConfiguration(backbone: .resnet18, imageSize: 128).headInputFeatures, 512)
    }

    func testInputShapesAreCheckedBeforeForward() throws {
        let unet = try ResUNet(configuration: .standard, seed: 0)
        XCTAssertNoThrow(try unet.checkInput(shape: [2, 64, 48, 3]))
        for bad in [[2, 64, 40, 3], [2, 64, 64, 1], [64, 64, 3], [0, 64, 64, 3]] {
            XCTAssertThrowsError(try unet.checkInput(shape: bad)) { error in
                XCTAssert("\(error)".contains("multiples of 16"), "\(error)")
            }
        }
        let classifier = try ClassifierModel(configuration: ClassifierConfiguration(
            backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1]), imageSize: 64), seed: 0)
        XCTAssertNoThrow(try classifier.checkInput(shape: [1, 64, 64, 3]))
        XCTAssertThrowsError(try classifier.checkInput(shape: [1, 128, 128, 3])) { error in
            XCTAssertEqual("\(error)", "input shape [1, 128, 128, 3] does not fit the model: [N, 64, 64, 3] with N >= 1 "
                           + "(the head's width is fixed by the image size)")
        }
    }

    func testBadConfigurationsThrowOneLineErrors() {
        let cases: [(String, String)] = [
            ("{}", "not readable"),
            (#"{"format":9,"kind":"resunet"}"#, "format 9"),
            (#"{"format":1,"kind":"vit"}"#, "unknown model kind 'vit'"),
            (#"{"format":1,"kind":"resunet","resunet":{"inputChannels":3,"filters":[],"outputChannels":1}}"#, "filters"),
            (#"{"format":1,"kind":"classifier","classifier":{"backbone":{"block":"basic","blocksPerStage":[2,2,2,2],"widthPerGroup":64,"groups":1,"inputChannels":3},"imageSize":64,"poolSize":4,"hiddenFeatures":256,"dropout":0.3,"classes":2}}"#,
             "smaller than the 4x4 pooling"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try ModelConfiguration(json: json), json) { error in
                let text = (error as? LocalizedError)?.errorDescription ?? ""
                XCTAssert(text.contains(expected), "\(json): \(text)")
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
        XCTAssertThrowsError(try ModelConfiguration(metadata: ["other": "x"])) { error in
            XCTAssertEqual(error as? ModelConfigurationError, .missing(ModelConfiguration.metadataKey))
        }
    }
}
