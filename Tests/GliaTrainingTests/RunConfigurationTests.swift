import Foundation
import GliaTraining
import XCTest

final class RunConfigurationTests: XCTestCase {
    /// A configuration.json written before the loss, schedule and split fields existed.
    private let legacy = """
        {"augment":true,"backbone":"resnet18","batchSize":16,"dataPath":"/data","epochs":20,"freezeBackbone":false,
         "imageSize":128,"learningRate":0.001,"maxStepsPerEpoch":0,"patience":5,"recipe":"segmenter","seed":1,
         "trainFraction":0.7,"tumorFraction":0.5,"validationFraction":0.15,"weightDecay":0}
        """

    func testOlderRunsDecodeWithTheRecipeTheyWereTrainedWith() throws {
        let c = try JSONDecoder().decode(RunConfiguration.self, from: Data(legacy.utf8))
        XCTAssertEqual(c.loss, .focalTversky)
        XCTAssertEqual(c.schedule, .plateau)
        XCTAssertNil(c.segmenterPath)
        XCTAssertNil(c.splitPath)
        XCTAssertEqual(c.imageSize, 128)
    }

    func testNewFieldsRoundTrip() throws {
        var c = RunConfiguration.defaults(for: .classifier, dataPath: "/data")
        c.loss = .diceBCE
        c.schedule = .cosine
        c.segmenterPath = "/models/segmenter.safetensors"
        c.splitPath = "/models/split.json"
        XCTAssertEqual(try JSONDecoder().decode(RunConfiguration.self, from: JSONEncoder().encode(c)), c)
    }

    func testUnknownLossIsAnError() {
        let bad = legacy.replacingOccurrences(of: "\"augment\":true", with: "\"augment\":true,\"loss\":\"l2\"")
        XCTAssertThrowsError(try JSONDecoder().decode(RunConfiguration.self, from: Data(bad.utf8)))
    }
}
