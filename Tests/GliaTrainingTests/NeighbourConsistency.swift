import Foundation
import GliaCore
import GliaData
import GliaTraining
import XCTest

/// A gate that reads neighbouring slices gives each slice the same P(tumor) whether its volume is
/// read at once (`glia eval`) or slice after slice through a NeighbourContext (the workstation and
/// `glia predict`, which load neighbours on demand); the evaluation report counts exactly those
/// probabilities; and the neighbours change some of them (else the test would prove nothing).
func assertNeighbourReadingIsConsistent(_ pipeline: TwoStagePipeline, loader: Loader, report: EvaluationReport,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertGreaterThan(pipeline.neighbourReach, 0, file: file, line: line)
    var volumes: [String: [Int: MaskEvidence]] = [:]
    var alone: [String: Float] = [:]
    var slices: [(record: SliceRecord, label: Int)] = []
    let epoch = loader.batches(epoch: 0)
    while let batch = try epoch.next() {
        let stages = pipeline.stages(batch.images)
        let evidence = try XCTUnwrap(stages.evidence, file: file, line: line)
        for (i, s) in batch.slices.enumerated() {
            volumes[s.patientID, default: [:]][s.sliceNumber] = evidence[i]
            alone[s.id] = stages.probabilities?[i]
            slices.append((s, batch.labels[i]))
        }
    }
    let whole = try volumes.mapValues { try XCTUnwrap(pipeline.tumorProbabilities(volume: $0)) }
    var confusion = BinaryConfusionMatrix()
    for (s, label) in slices {
        confusion.add(predicted: whole[s.patientID]![s.sliceNumber]! >= pipeline.threshold, actual: label == 1)
    }
    XCTAssertEqual(confusion, report.classifier?.confusion, "the report counts the volume-read probabilities",
                   file: file, line: line)
    XCTAssertGreaterThan(slices.filter { abs(whole[$0.record.patientID]![$0.record.sliceNumber]! - alone[$0.record.id]!) > 1e-3 }.count,
                         0, "no slice's P(tumor) depends on its neighbours", file: file, line: line)

    let records = Dictionary(loader.records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    var context = NeighbourContext()
    // Last slice first, so that neighbours are still unknown and must be loaded.
    for (s, _) in slices.reversed() {
        let image = try TIFFImage.readImage(s.imageURL).value
        let area = context.neighbourArea(patient: s.patientID, slice: s.sliceNumber, image: image, pipeline: pipeline) { n in
            records["\(s.patientID)_\(n)"].flatMap { try? TIFFImage.readImage($0.imageURL).value }
        }
        let prediction = pipeline.predict(TwoStagePipeline.batch([image]), neighbourAreas: [area])[0]
        let expected = whole[s.patientID]![s.sliceNumber]!
        XCTAssertEqual(try XCTUnwrap(prediction.probability, file: file, line: line), expected, accuracy: 1e-4,
                       "\(s.id) read slice by slice", file: file, line: line)
        context.record(try XCTUnwrap(prediction.evidence, file: file, line: line), patient: s.patientID, slice: s.sliceNumber)
    }
}
