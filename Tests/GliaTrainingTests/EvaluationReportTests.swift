import Foundation
import GliaCore
import GliaData
import GliaTraining
import XCTest

/// The evaluation report: per-patient rows, patients without tumor, post-processing, empty input.
final class EvaluationReportTests: XCTestCase {
    private static let phantom: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glia-eval-phantom-\(getpid())")
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = try! Phantom.write(to: url, configuration: .init(patients: 3, slices: 8...10, seed: 5))
        }
        return url
    }()

    override class func tearDown() {
        try? FileManager.default.removeItem(at: phantom)
        super.tearDown()
    }

    /// A random small ResUNet run at 32 px: its masks are noisy, which is what post-processing is for.
    private func pipeline() throws -> TwoStagePipeline {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glia-eval-\(UUID().uuidString).safetensors")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        var run = RunConfiguration.defaults(for: .segmenter, dataPath: Self.phantom.path)
        run.imageSize = 32
        let json = String(decoding: try JSONEncoder().encode(run), as: UTF8.self)
        try Checkpoint.saveModel(try ResUNet(configuration: ResUNetConfiguration(filters: [2, 4]), seed: 7), to: url,
                                 metadata: ["glia.run": json])
        return try TwoStagePipeline(classifier: nil, segmenter: try TrainedModel.load(url.path, store: nil))
    }

    /// The phantom's slices, except that the first patient keeps only its tumor-free slices.
    private func loaderWithATumorFreePatient() throws -> (Loader, String) {
        let full = Loader(index: try DatasetIndex.load(Self.phantom), configuration: .evaluation(batchSize: 4))
        let first = full.records[0].patientID
        let kept = full.records.indices.filter { full.records[$0].patientID != first || !full.tumorFlags[$0] }
        return (Loader(records: kept.map { full.records[$0] }, tumorFlags: kept.map { full.tumorFlags[$0] },
                       configuration: .evaluation(batchSize: 4)), first)
    }

    func testPerPatientRowsAddUpAndATumorFreePatientHasNoDice() throws {
        let (loader, tumorFree) = try loaderWithATumorFreePatient()
        let report = try Evaluator.evaluate(try pipeline(), loader: loader, part: "all")
        let s = try XCTUnwrap(report.segmenter)
        XCTAssertEqual(Set(s.patients.map(\.patient)), Set(loader.records.map(\.patientID)))
        XCTAssertEqual(s.patients.map(\.slices).reduce(0, +), loader.records.count)
        XCTAssertEqual(s.patients.map(\.tumorSlices).reduce(0, +), loader.tumorFlags.filter { $0 }.count)
        XCTAssertEqual(s.segmentedSlices, loader.records.count)

        // The tumor-free patient: no Dice, last, and left out of mean and median.
        let last = try XCTUnwrap(s.patients.last)
        XCTAssertEqual(last.patient, tumorFree)
        XCTAssertNil(last.dice)
        XCTAssertEqual(last.tumorSlices, 0)
        XCTAssertEqual(last.truthVoxels, 0)
        let dice = s.patients.compactMap(\.dice)
        XCTAssertEqual(dice.count, s.patients.count - 1)
        XCTAssertEqual(s.volumes, dice.count)
        XCTAssertEqual(dice, dice.sorted(by: >), "rows sorted by Dice, best first")
        XCTAssertEqual(try XCTUnwrap(s.meanDice), dice.reduce(0, +) / Double(dice.count), accuracy: 1e-12)
        let sorted = dice.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        XCTAssertEqual(try XCTUnwrap(s.medianDice), median, accuracy: 1e-12)

        // JSON says so explicitly.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        let rows = try XCTUnwrap((json?["segmenter"] as? [String: Any])?["patients"] as? [[String: Any]])
        XCTAssert(rows.last?["dice"] is NSNull, "\(rows.last ?? [:])")
        XCTAssertEqual(rows.count, s.patients.count)
    }

    func testLargestComponentIsTakenPerPatientVolume() throws {
        let loader = Loader(index: try DatasetIndex.load(Self.phantom), configuration: .evaluation(batchSize: 4))
        let pipeline = try pipeline()
        let plain = try XCTUnwrap(try Evaluator.evaluate(pipeline, loader: loader, part: "all").segmenter)
        let report = try Evaluator.evaluate(pipeline, loader: loader, part: "all", postprocessing: .largestComponent)
        XCTAssertEqual(report.postprocessing, .largestComponent)
        let cleaned = try XCTUnwrap(report.segmenter)

        // Independently: every patient's thresholded masks, stacked in slice order, then cleaned.
        var masks: [String: [(Int, [UInt8])]] = [:]
        let epoch = loader.batches(epoch: 0)
        while let batch = try epoch.next() {
            let p = try XCTUnwrap(pipeline.maskProbabilities(batch.images))
            let plane = 256 * 256
            for (i, slice) in batch.slices.enumerated() {
                let mask = p.scalars[(i * plane)..<((i + 1) * plane)].map { $0 > 0.5 ? UInt8(1) : 0 }
                masks[slice.patientID, default: []].append((slice.sliceNumber, mask))
            }
        }
        XCTAssertGreaterThan(plain.patients.map(\.predictedVoxels).reduce(0, +), 0, "the random model draws something")
        let before = Dictionary(uniqueKeysWithValues: plain.patients.map { ($0.patient, $0) })
        for row in cleaned.patients {
            let volume = try XCTUnwrap(masks[row.patient]).sorted { $0.0 < $1.0 }.map(\.1)
            let kept = VolumePostprocessing.largestComponent.apply(volume, width: 256)
            XCTAssertEqual(row.predictedVoxels, kept.joined().reduce(0) { $0 + Int($1) }, row.patient)
            let original = try XCTUnwrap(before[row.patient])
            XCTAssertEqual(original.predictedVoxels, volume.joined().reduce(0) { $0 + Int($1) }, row.patient)
            XCTAssertEqual(row.truthVoxels, original.truthVoxels)
            XCTAssertLessThanOrEqual(row.predictedVoxels, original.predictedVoxels)
        }
    }

    func testNoSlicesIsAnErrorNamingThePart() throws {
        let empty = Loader(records: [], tumorFlags: [], configuration: .evaluation())
        XCTAssertThrowsError(try Evaluator.evaluate(try pipeline(), loader: empty, part: "validation")) { error in
            XCTAssert("\(error)".contains("validation"), "\(error)")
        }
    }
}
