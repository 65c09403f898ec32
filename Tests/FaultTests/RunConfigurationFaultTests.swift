// Absurd numbers (issue 14 items 1 and 14): image sizes the model cannot take, overflowing batch
// sizes, learning rates and decays that are not finite, zero patience, widths out of range. Each is
// refused before a run is created, in one line naming the value.
import Foundation
import GliaData
import GliaTestSupport
import GliaTraining
import XCTest

final class RunConfigurationFaultTests: XCTestCase {
    private var files: FaultFiles!

    override func setUpWithError() throws { files = try FaultFiles.make() }
    override func tearDown() { files?.remove() }

    private func refusal(_ change: (inout RunConfiguration) -> Void, recipe: RecipeKind = .classifier) -> String? {
        var c = RunConfiguration.defaults(for: recipe, dataPath: "/data")
        change(&c)
        do {
            try c.validate()
            return nil
        } catch {
            return "\(error)"
        }
    }

    // Item 1: the segmenter needs a multiple of 16; a ResNet classifier needs room for its head.
    func testImageSizesTheModelCannotTakeAreRefused() {
        for size in [1, 2, 3, 8, 0, -16, 512] {
            let message = refusal({ $0.imageSize = size }, recipe: .segmenter)
            XCTAssertNotNil(message, "segmenter at \(size) px")
            XCTAssertTrue(message?.contains("imageSize = \(size)") == true, message ?? "")
        }
        XCTAssertNil(refusal({ $0.imageSize = 16 }, recipe: .segmenter))
        XCTAssertNil(refusal({ $0.imageSize = 128 }, recipe: .segmenter))
        XCTAssertNotNil(refusal { $0.imageSize = 8 })
        XCTAssertNil(refusal { $0.imageSize = 128 })
    }

    // Item 14: numbers that overflow, are not finite, or make no sense.
    func testAbsurdNumbersAreRefusedByName() {
        let cases: [(String, (inout RunConfiguration) -> Void)] = [
            ("batchSize", { $0.batchSize = Int.max }), ("batchSize", { $0.batchSize = 0 }),
            ("learningRate", { $0.learningRate = .infinity }), ("learningRate", { $0.learningRate = .nan }),
            ("learningRate", { $0.learningRate = 1e30 }), ("learningRate", { $0.learningRate = 0 }),
            ("weightDecay", { $0.weightDecay = .nan }), ("weightDecay", { $0.weightDecay = .infinity }),
            ("weightDecay", { $0.weightDecay = -1 }), ("patience", { $0.patience = 0 }),
            ("epochs", { $0.epochs = 0 }), ("tumorFraction", { $0.tumorFraction = 2 }),
            ("weightAverage", { $0.weightAverage = 1 }), ("weightAverage", { $0.weightAverage = .nan }),
            ("weightAverage", { $0.weightAverage = 0.1 }),
        ]
        for (field, change) in cases {
            let message = refusal(change)
            XCTAssertTrue(message?.hasPrefix(field) == true, "\(field): \(message ?? "accepted")")
        }
        XCTAssertNil(refusal { _ in }, "the defaults are valid")
    }

    // A run whose data cannot be split (too few patients) is not left behind as a failed run.
    func testRunOnTooFewPatientsLeavesNoRun() throws {
        var phantom = Phantom.Configuration.default
        phantom.patients = 2
        let data = files.url("two-patients")
        _ = try Phantom.write(to: data, configuration: phantom)
        let store = try RunStore(workspace: files.url("ws-few"))
        XCTAssertThrowsError(try TrainingRun.start(RunConfiguration.defaults(for: .segmenter, dataPath: data.path), store: store)) { error in
            XCTAssertTrue("\(error)".contains("too few"), "\(error)")
        }
        XCTAssertEqual(try store.runs().count, 0)
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: files.url("ws-few/runs").path)) ?? []
        XCTAssertEqual(folders, [], "no run folder is left")
    }

    // Item 1: a refused configuration leaves no run behind.
    func testRefusedRunIsNeverCreated() throws {
        let store = try RunStore(workspace: files.url("ws"))
        var c = RunConfiguration.defaults(for: .segmenter, dataPath: files.url("none").path)
        c.imageSize = 8
        XCTAssertThrowsError(try TrainingRun.start(c, store: store)) { error in
            XCTAssertTrue("\(error)".contains("multiple of 16"), "\(error)")
        }
        XCTAssertEqual(try store.runs().count, 0)
    }

    // Items 1 and 14 through the CLI: one line, exit 1, no run, no trap.
    func testCommandLineRefusesAbsurdNumbersBeforeCreatingARun() throws {
        guard GliaProcess.executable != nil else { throw XCTSkip("glia executable not built") }
        let ws = files.url("ws").path
        let cases: [([String], String)] = [
            (["train", "segmenter", "--image-size", "8"], "multiple of 16"),
            (["train", "segmenter", "--image-size", "2"], "multiple of 16"),
            (["train", "classifier", "--batch-size", "9223372036854775807"], "--batch-size"),
            (["train", "classifier", "--lr", "inf"], "--lr"),
            (["train", "classifier", "--lr", "1e30"], "--lr"),
            (["train", "classifier", "--weight-decay", "nan"], "--weight-decay nan"),
            (["train", "classifier", "--weight-decay", "inf"], "--weight-decay inf"),
            (["train", "classifier", "--patience", "0"], "--patience 0"),
            (["train", "classifier", "--epochs", "0"], "--epochs 0"),
            (["train", "segmenter", "--weight-average", "1.5"], "--weight-average 1.5"),
            (["train", "classifier", "--weight-average", "0.9"], "--weight-average is a segmenter option"),
            (["eval", "--batch-size", "9223372036854775807"], "--batch-size"),
            (["show", "x.tif", "--width", "0"], "--width"),
            (["show", "x.tif", "--width", "-5"], "--width"),
            (["show", "x.tif", "--width", "100000"], "--width"),
        ]
        for (arguments, expected) in cases {
            let result = try GliaProcess.run(arguments + (arguments[0] == "show" ? [] : ["--workspace", ws]))
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertLessThan(result.status, 128, "\(arguments) must not trap: \(result.errors)")
            XCTAssertTrue(result.errors.contains(expected), "\(arguments): \(result.errors)")
            XCTAssertFalse(result.errors.contains("EncodingError"), result.errors)
        }
        let runs = try GliaProcess.run(["runs", "--workspace", ws, "--json"])
        let listed = try JSONSerialization.jsonObject(with: Data(runs.output.utf8)) as? [Any]
        XCTAssertEqual(listed?.count, 0, "no run was created: \(runs.output)")
    }
}
