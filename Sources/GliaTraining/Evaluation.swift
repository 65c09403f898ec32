// Evaluation of trained models on a set of slices: classifier metrics, segmenter per-volume Dice and
// IoU on every slice, and the two-stage pipeline (segment only what the classifier flags), as Buda
// et al. report it (per-volume Dice: each patient's slices stacked, then mean and median).
import Foundation
import GliaCore
import GliaData

/// Classifier results.
public struct ClassifierReport: Codable, Sendable, Equatable {
    public var accuracy: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// Nil when only one class is present.
    public var rocAUC: Double?
    public var confusion: BinaryConfusionMatrix
}

/// Segmentation results over volumes (patients).
public struct SegmentationReport: Codable, Sendable, Equatable {
    public var volumes: Int
    public var meanDice: Double
    public var medianDice: Double
    /// IoU over all pixels of all slices pooled.
    public var pooledIoU: Double
    /// Dice over all pixels of all slices pooled.
    public var pooledDice: Double
}

/// Everything `glia eval` reports.
public struct EvaluationReport: Codable, Sendable, Equatable {
    /// Which slices: "test", "validation", "train" or "all".
    public var part: String
    public var patients: Int
    public var slices: Int
    public var classifier: ClassifierReport?
    /// The segmenter on every slice.
    public var segmenter: SegmentationReport?
    /// The segmenter on flagged slices only, empty masks elsewhere.
    public var pipeline: SegmentationReport?
}

/// Runs a pipeline over a loader's slices and accumulates every metric.
public enum Evaluator {
    /// Evaluates `pipeline` on every batch of `loader` (an evaluation loader: no shuffle, no
    /// augmentation). `progress(done, total)` is called after each batch.
    public static func evaluate(_ pipeline: TwoStagePipeline, loader: Loader, part: String,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> EvaluationReport {
        var scores: [Float] = [], labels: [Int] = []
        var confusion = BinaryConfusionMatrix()
        var everySlice = VolumeDiceAccumulator(), gated = VolumeDiceAccumulator()
        let epoch = loader.batches(epoch: 0)
        var done = 0
        while let batch = try epoch.next() {
            let side = batch.images.shape[1]
            let probabilities = pipeline.tumorProbabilities(batch.images)
            let masks = pipeline.maskProbabilities(batch.images)
            for (i, slice) in batch.slices.enumerated() {
                let truth = batch.masks.scalars[(i * side * side)..<((i + 1) * side * side)].map { $0 > 0.5 ? UInt8(1) : 0 }
                let p = probabilities?[i]
                if let p {
                    scores.append(p)
                    labels.append(batch.labels[i])
                    confusion.add(predicted: p >= pipeline.threshold, actual: batch.labels[i] == 1)
                }
                if let masks {
                    let predicted = masks.scalars[(i * side * side)..<((i + 1) * side * side)].map { $0 > 0.5 ? UInt8(1) : 0 }
                    try everySlice.add(patient: slice.patientID, predicted: predicted, truth: truth)
                    let flagged = p.map { $0 >= pipeline.gateThreshold } ?? true
                    try gated.add(patient: slice.patientID,
                                  predicted: flagged ? predicted : [UInt8](repeating: 0, count: predicted.count),
                                  truth: truth)
                }
            }
            done += 1
            progress(done, epoch.batchCount)
        }
        let classifier = pipeline.classifier == nil ? nil : ClassifierReport(
            accuracy: confusion.accuracy, precision: confusion.precision, recall: confusion.recall,
            f1: confusion.f1, rocAUC: try rocAUC(scores: scores, labels: labels), confusion: confusion)
        return EvaluationReport(
            part: part, patients: Set(loader.records.map(\.patientID)).count, slices: loader.records.count,
            classifier: classifier,
            segmenter: pipeline.segmenter == nil ? nil : report(everySlice),
            pipeline: pipeline.segmenter == nil || pipeline.classifier == nil ? nil : report(gated))
    }

    private static func report(_ a: VolumeDiceAccumulator) -> SegmentationReport {
        let s = a.summary
        return SegmentationReport(volumes: s?.volumes ?? 0, meanDice: s?.mean ?? 0, medianDice: s?.median ?? 0,
                                  pooledIoU: a.pooled.iou, pooledDice: a.pooled.dice)
    }
}
