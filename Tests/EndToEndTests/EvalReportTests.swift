// End-to-end tests of the `glia eval` report on the built binary: per-patient rows for the segmenter
// and the pipeline, the options that change the masks, the bar chart's character set, empty data.
import Foundation
import GliaTestSupport
import XCTest

final class EvalReportTests: XCTestCase {
    private static let work = FileManager.default.temporaryDirectory.appendingPathComponent("glia-eval-e2e-\(getpid())")
    private static var workspace: String { work.appendingPathComponent("ws").path }

    /// A phantom set and a tiny segmenter and classifier trained on it (a few steps each).
    private static let models: Result<(data: URL, segmenter: String, classifier: String), any Error> = Result {
        let data = work.appendingPathComponent("data")
        let synth = try GliaProcess.run(["synth", "--out", data.path, "--patients", "4"])
        guard synth.status == 0 else { throw TmuxError(message: "glia synth failed: \(synth.errors)") }
        func train(_ arguments: [String]) throws -> String {
            let r = try GliaProcess.run(["train"] + arguments + ["--data", data.path, "--workspace", workspace,
                                                                 "--epochs", "1", "--max-steps", "2", "--batch-size", "4"])
            guard r.status == 0, let id = r.output.firstMatch(of: /run ([a-z]+-[0-9]+-[0-9]+)/)?.1 else {
                throw TmuxError(message: "glia train \(arguments) failed: \(r.errors)")
            }
            return String(id)
        }
        return (data, try train(["segmenter", "--image-size", "64"]),
                try train(["classifier", "--image-size", "128", "--backbone", "resnet10"]))
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: work)
        super.tearDown()
    }

    private func prerequisites() throws -> (data: URL, segmenter: String, classifier: String) {
        guard GliaProcess.executable != nil else { throw XCTSkip("skipped: glia executable not built") }
        return try Self.models.get()
    }

    func testJSONHasEveryPatientForSegmenterAndPipeline() throws {
        let m = try prerequisites()
        let eval = try GliaProcess.run(["eval", "--segmenter", m.segmenter, "--classifier", m.classifier, "--part", "all",
                                        "--postprocess", "largest-component", "--tta", "flip", "--json",
                                        "--workspace", Self.workspace])
        XCTAssertEqual(eval.status, 0, eval.errors)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as? [String: Any])
        XCTAssertEqual(report["postprocessing"] as? String, "largest-component")
        XCTAssertEqual(report["flipTestTimeAugmentation"] as? Bool, true)
        let classifier = try XCTUnwrap(report["classifier"] as? [String: Any])
        for key in ["threshold", "accuracy", "sensitivity", "specificity", "precision"] {
            XCTAssertNotNil(classifier[key] as? Double, key)
        }
        let patients = try XCTUnwrap(report["patients"] as? Int)
        for part in ["segmenter", "pipeline"] {
            let s = try XCTUnwrap(report[part] as? [String: Any], part)
            let rows = try XCTUnwrap(s["patients"] as? [[String: Any]], part)
            XCTAssertEqual(rows.count, patients, part)
            XCTAssertEqual(rows.compactMap { $0["slices"] as? Int }.reduce(0, +), report["slices"] as? Int, part)
            let dice = rows.compactMap { $0["dice"] as? Double }
            XCTAssertEqual(dice, dice.sorted(by: >), "\(part) rows sorted by Dice")
            XCTAssertEqual(s["volumes"] as? Int, dice.count, part)
        }
        let pipeline = try XCTUnwrap(report["pipeline"] as? [String: Any])
        XCTAssertNotNil(pipeline["gateThreshold"] as? Double)
        XCTAssertLessThanOrEqual(try XCTUnwrap(pipeline["segmentedSlices"] as? Int), try XCTUnwrap(report["slices"] as? Int))
    }

    func testTableDrawsBarsInTheLocalesCharacters() throws {
        let m = try prerequisites()
        let arguments = ["eval", "--segmenter", m.segmenter, "--part", "all", "--workspace", Self.workspace]
        let utf8 = try GliaProcess.run(arguments + ["--classifier", m.classifier], environment: ["LC_ALL": "C.UTF-8"])
        XCTAssertEqual(utf8.status, 0, utf8.errors)
        XCTAssert(utf8.output.contains("SEGMENTER, EVERY SLICE, PER PATIENT"), utf8.output)
        XCTAssert(utf8.output.contains("TWO-STAGE PIPELINE, PER PATIENT"), utf8.output)
        XCTAssert(utf8.output.contains("specificity"), utf8.output)
        // Both thresholds are printed: the classifier's decision and the pipeline's gate.
        XCTAssertEqual(utf8.output.components(separatedBy: "when P(tumor) >= ").count - 1, 2, utf8.output)
        XCTAssert(utf8.output.contains("\u{2591}") || utf8.output.contains("\u{2588}"), utf8.output)
        let ascii = try GliaProcess.run(arguments, environment: ["LC_ALL": "C"])
        XCTAssertEqual(ascii.status, 0, ascii.errors)
        XCTAssert(ascii.output.unicodeScalars.allSatisfy(\.isASCII), ascii.output)
        XCTAssert(ascii.output.contains("PER PATIENT"), ascii.output)
        XCTAssert(ascii.output.contains("........") || ascii.output.contains("########"), ascii.output)
    }

    func testDataWithoutUsableSlicesIsAnError() throws {
        let m = try prerequisites()
        // One image without its mask: the index has a patient, but no slice it can score.
        let patient = try FileManager.default.contentsOfDirectory(atPath: m.data.path).filter { !$0.hasSuffix(".csv") }.sorted()[0]
        let folder = Self.work.appendingPathComponent("unusable").appendingPathComponent(patient)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: m.data.appendingPathComponent(patient).appendingPathComponent("\(patient)_1.tif"),
                                         to: folder.appendingPathComponent("\(patient)_1.tif"))
        let dataset = folder.deletingLastPathComponent().path
        let eval = try GliaProcess.run(["eval", "--segmenter", m.segmenter, "--data", dataset, "--workspace", Self.workspace])
        XCTAssertNotEqual(eval.status, 0, eval.output)
        XCTAssert(eval.errors.contains("no usable slices") && eval.errors.contains(dataset), eval.errors)
        XCTAssertFalse(eval.output.contains("Dice"), eval.output)
    }
}
