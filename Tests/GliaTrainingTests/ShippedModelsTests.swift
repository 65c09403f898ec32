// Finding the shipped models ($GLIA_MODELS, the checkout's Models/, the user and system folders),
// explaining their absence, tagging the patients they learnt from, and loading them through the
// two-stage pipeline. Stand-in checkpoints are untrained (ShippedFixture).
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import GliaTraining
import XCTest

final class ShippedModelsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-shipped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A fake checkout (Package.swift + Models/) with an executable in .build/release, and a symlink
    /// to that executable elsewhere (as an installed `glia` in ~/bin would be).
    private func makeCheckout() throws -> (models: URL, link: URL) {
        let checkout = folder.appendingPathComponent("checkout")
        let models = checkout.appendingPathComponent("Models")
        let release = checkout.appendingPathComponent(".build/release")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: release, withIntermediateDirectories: true)
        try Data("// swift-tools-version: 6.0\n".utf8).write(to: checkout.appendingPathComponent("Package.swift"))
        let executable = release.appendingPathComponent("glia")
        try Data().write(to: executable)
        let bin = folder.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let link = bin.appendingPathComponent("glia")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: executable)
        return (models, link)
    }

    func testGliaModelsIsTheOnlyFolderLookedInAndAnEmptyOneSaysWhy() throws {
        let (checkoutModels, link) = try makeCheckout()
        try ShippedFixture.write(to: checkoutModels, segmenter: ResUNetConfiguration(filters: [4, 8]), classifier: false)
        let chosen = folder.appendingPathComponent("chosen")
        try FileManager.default.createDirectory(at: chosen, withIntermediateDirectories: true)

        let empty = ShippedModels.locate(environment: ["GLIA_MODELS": chosen.path, "HOME": folder.path], executable: link)
        XCTAssertNil(empty.folder, "the checkout's models are not used when GLIA_MODELS names another folder")
        XCTAssertNil(empty.segmenter)
        let absence = try XCTUnwrap(empty.absence)
        XCTAssertTrue(absence.hasPrefix("no shipped models in \(chosen.path); train with `glia train classifier"), absence)
        XCTAssertFalse(absence.contains("\n"))

        try ShippedFixture.write(to: chosen, segmenter: nil, split: (["A"], ["B"], ["C"]))
        let found = ShippedModels.locate(environment: ["GLIA_MODELS": chosen.path], executable: link)
        XCTAssertEqual(found.folder?.path, chosen.path)
        XCTAssertEqual(found.classifier?.lastPathComponent, "classifier.safetensors")
        XCTAssertNil(found.segmenter, "a missing file is absent, not a wrong path")
        XCTAssertEqual(found.split?.lastPathComponent, "split.json")
        XCTAssertNil(found.absence)
    }

    func testFindsTheCheckoutModelsThroughASymlinkThenTheUserAndSystemFolders() throws {
        let (checkoutModels, link) = try makeCheckout()
        let home = folder.appendingPathComponent("home")
        let environment = ["HOME": home.path]
        XCTAssertEqual(ShippedModels.searchFolders(environment: environment, executable: link).map(\.path),
                       [checkoutModels.path, home.path + "/.local/share/glia/models", "/usr/local/share/glia/models"])

        // The checkout's Models/ holds only a README: the user folder is next.
        try Data("# Models\n".utf8).write(to: checkoutModels.appendingPathComponent("README.md"))
        let user = home.appendingPathComponent(".local/share/glia/models")
        try ShippedFixture.write(to: user, segmenter: ResUNetConfiguration(filters: [4, 8]), classifier: false)
        XCTAssertEqual(ShippedModels.locate(environment: environment, executable: link).folder?.path, user.path)

        try ShippedFixture.write(to: checkoutModels, segmenter: ResUNetConfiguration(filters: [4, 8]), classifier: false)
        let found = ShippedModels.locate(environment: environment, executable: link)
        XCTAssertEqual(found.folder?.path, checkoutModels.path, "the checkout the executable was built in comes first")
        XCTAssertEqual(found.segmenter?.path, checkoutModels.appendingPathComponent("segmenter.safetensors").path)

        // An executable outside any checkout skips straight to the user folder.
        XCTAssertNil(ShippedModels.checkoutFolder(of: home.appendingPathComponent("glia")))
    }

    func testTrainingAndValidationPatientsAreTaggedTestAndUnknownOnesAreNot() throws {
        try ShippedFixture.write(to: folder, segmenter: nil, split: (["P1", "P2"], ["P3"], ["P4"]))
        let shipped = ShippedModels(folder: folder, searched: [folder])
        let tags = try shipped.seenPatients()
        XCTAssertEqual(tags, ["P1": "train", "P2": "train", "P3": "val"])
        XCTAssertNil(tags["P4"], "test patients were never seen")
        XCTAssertNil(tags["P9"])

        XCTAssertEqual(try ShippedModels(folder: nil, searched: []).seenPatients(), [:], "no split, no tags")
        try Data("{".utf8).write(to: folder.appendingPathComponent("split.json"))
        XCTAssertThrowsError(try shipped.seenPatients()) { error in
            XCTAssertTrue("\(error)".contains("split.json: not a split file"), "\(error)")
        }
    }

    func testShippedCheckpointsLoadAndPredictThroughTheTwoStagePipeline() throws {
        try ShippedFixture.write(to: folder)
        let shipped = ShippedModels(folder: folder, searched: [folder])
        let pipeline = try TwoStagePipeline(classifier: try TrainedModel.load(try XCTUnwrap(shipped.classifier).path, store: nil),
                                            segmenter: try TrainedModel.load(try XCTUnwrap(shipped.segmenter).path, store: nil))
        let side = TIFFImage.sliceSide
        let batch = Tensor(shape: [1, side, side, 3], scalars: (0..<(side * side * 3)).map { Float($0 % 251) / 251 })
        let prediction = try XCTUnwrap(pipeline.predict(batch).first)
        let p = try XCTUnwrap(prediction.probability)
        XCTAssertTrue((0...1).contains(p), "P(tumor) \(p)")
        XCTAssertEqual(prediction.flagged, p >= pipeline.gateThreshold)
        XCTAssertEqual(prediction.mask != nil, prediction.flagged)
    }
}
