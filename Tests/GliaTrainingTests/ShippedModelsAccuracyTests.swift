// The shipped models (Models/) against the numbers Models/README.md publishes for three of their
// test patients: the files load, and `glia eval`'s evaluator reproduces each patient's per-volume
// Dice (segmenter and two-stage pipeline) and the slice accuracy within 0.01. The expected numbers
// are read from the README's "CI check" table, so the document and the test cannot drift apart.
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import GliaTraining
import XCTest

final class ShippedModelsAccuracyTests: XCTestCase {
    private static let models = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Models")

    /// One row of the README table: patient, segmenter Dice, pipeline Dice.
    private struct Expected {
        var patient: String
        var segmenterDice: Double
        var pipelineDice: Double
    }

    /// Rows `| TCGA_... | 0.8123 | 0.8011 |` and the line `slice accuracy: 0.9512` of the CI check.
    private func expectations() throws -> (rows: [Expected], accuracy: Double) {
        let text = try String(contentsOf: Self.models.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(text.components(separatedBy: "## CI check").dropFirst().first,
                                    "Models/README.md has no '## CI check' section")
        var rows: [Expected] = []
        var accuracy: Double?
        for line in section.split(separator: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count == 3, cells[0].hasPrefix("TCGA_"), let s = Double(cells[1]), let p = Double(cells[2]) {
                rows.append(Expected(patient: cells[0], segmenterDice: s, pipelineDice: p))
            }
            if line.hasPrefix("slice accuracy:") {
                accuracy = Double(line.dropFirst("slice accuracy:".count).trimmingCharacters(in: .whitespaces))
            }
        }
        return (rows, try XCTUnwrap(accuracy, "no 'slice accuracy:' line in the CI check"))
    }

    func testShippedModelsReproduceTheirPublishedTestNumbers() throws {
        guard let sample = Fixtures.sampleData else { throw XCTSkip(Fixtures.skipMessage("GLIA_SAMPLE_DATA")) }
        guard FileManager.default.fileExists(atPath: Self.models.appendingPathComponent(ShippedModels.segmenterFile).path) else {
            throw XCTSkip("no shipped models in \(Self.models.path)")
        }
        let classifier = try TrainedModel.load(Self.models.appendingPathComponent(ShippedModels.classifierFile).path, store: nil)
        let segmenter = try TrainedModel.load(Self.models.appendingPathComponent(ShippedModels.segmenterFile).path, store: nil)
        let pipeline = try TwoStagePipeline(classifier: classifier, segmenter: segmenter)
        let (expected, accuracy) = try expectations()
        XCTAssertEqual(expected.count, 3, "three patients in the CI check")

        let split = try DatasetSplit.read(from: Self.models.appendingPathComponent(ShippedModels.splitFile))
        let wanted = Set(expected.map(\.patient))
        XCTAssertTrue(wanted.isSubset(of: Set(split.test)), "the CI check uses the split's test patients")
        let index = try DatasetIndex.load(sample)
        let scan = index.maskScan()
        var records: [SliceRecord] = [], flags: [Bool] = []
        for (i, r) in index.slices.enumerated() where wanted.contains(r.patientID) && r.isUsable {
            records.append(r)
            flags.append((scan.areas[i] ?? 0) > 0)
        }
        let loader = Loader(records: records, tumorFlags: flags, configuration: .evaluation(batchSize: 16))
        let report = try Evaluator.evaluate(pipeline, loader: loader, part: "ci-check",
                                            postprocessing: pipeline.postprocessing)
        XCTAssertEqual(try XCTUnwrap(report.classifier).accuracy, accuracy, accuracy: 0.01)
        for e in expected {
            let s = try XCTUnwrap(report.segmenter?.patients.first { $0.patient == e.patient }?.dice, e.patient)
            let p = try XCTUnwrap(report.pipeline?.patients.first { $0.patient == e.patient }?.dice, e.patient)
            XCTAssertEqual(s, e.segmenterDice, accuracy: 0.01, "\(e.patient) segmenter Dice")
            XCTAssertEqual(p, e.pipelineDice, accuracy: 0.01, "\(e.patient) pipeline Dice")
        }
    }
}
