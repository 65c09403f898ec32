// Evaluation of trained models on a set of slices: the classifier's slice-level metrics, the
// segmenter's per-volume Dice on every slice, and the two-stage pipeline (segment only what the
// classifier flags), as Buda et al. report it (per-volume Dice: each patient's slices stacked, then
// mean and median over patients with tumor).
//
// Masks are scored one patient at a time: a patient's binary masks ([UInt8] per slice) are held until
// its last slice has passed, so a volume post-processing sees the whole volume, and then dropped.
// The evaluation loader keeps index order, which keeps each patient's slices together.
import Foundation
import GliaCore
import GliaData

/// Classifier results, slice by slice.
public struct ClassifierReport: Codable, Sendable, Equatable {
    /// A slice is called tumor when P(tumor) >= threshold.
    public var threshold: Float
    /// Slices called right.
    public var accuracy: Double
    /// Tumor slices called tumor (recall).
    public var sensitivity: Double
    /// Tumor-free slices called tumor-free.
    public var specificity: Double
    /// Slices called tumor that have one.
    public var precision: Double
    /// Harmonic mean of precision and sensitivity.
    public var f1: Double
    /// Nil when only one class is present.
    public var rocAUC: Double?
    /// Slice counts at `threshold`.
    public var confusion: BinaryConfusionMatrix
}

/// One patient's row of a segmentation report.
public struct PatientScore: Codable, Sendable, Equatable {
    /// Patient id.
    public var patient: String
    /// Slices of the patient evaluated.
    public var slices: Int
    /// Slices whose true mask has a tumor pixel.
    public var tumorSlices: Int
    /// Dice of the stacked volume; nil for a patient without tumor (left out of mean and median).
    public var dice: Double?
    /// Tumor voxels in the true masks.
    public var truthVoxels: Int
    /// Tumor voxels in the predicted masks (after post-processing).
    public var predictedVoxels: Int

    /// Written by hand so that a patient without tumor says `"dice": null` instead of omitting it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(patient, forKey: .patient)
        try c.encode(slices, forKey: .slices)
        try c.encode(tumorSlices, forKey: .tumorSlices)
        try c.encode(dice, forKey: .dice)
        try c.encode(truthVoxels, forKey: .truthVoxels)
        try c.encode(predictedVoxels, forKey: .predictedVoxels)
    }
}

/// Segmentation results over volumes (patients).
public struct SegmentationReport: Codable, Sendable, Equatable {
    /// Patients with tumor: those the mean and median are over.
    public var volumes: Int
    /// Mean per-volume Dice; nil when no patient has a tumor.
    public var meanDice: Double?
    /// Median per-volume Dice; nil when no patient has a tumor.
    public var medianDice: Double?
    /// IoU over all pixels of all slices pooled.
    public var pooledIoU: Double
    /// Dice over all pixels of all slices pooled.
    public var pooledDice: Double
    /// Pipeline only: the segmenter draws on a slice when P(tumor) >= gateThreshold.
    public var gateThreshold: Float?
    /// Slices the segmenter drew on (every slice without a gate).
    public var segmentedSlices: Int
    /// Every patient, best Dice first, patients without tumor last (each group by patient id).
    public var patients: [PatientScore]
}

/// Everything `glia eval` reports.
public struct EvaluationReport: Codable, Sendable, Equatable {
    /// Which slices: "test", "validation", "train" or "all".
    public var part: String
    /// Patients evaluated.
    public var patients: Int
    /// Slices evaluated.
    public var slices: Int
    /// How predicted volumes were cleaned before scoring.
    public var postprocessing: VolumePostprocessing
    /// Whether mask probabilities averaged the left-right flipped prediction in.
    public var flipTestTimeAugmentation: Bool
    /// The classifier alone, slice by slice.
    public var classifier: ClassifierReport?
    /// The segmenter on every slice.
    public var segmenter: SegmentationReport?
    /// The segmenter on flagged slices only, empty masks elsewhere.
    public var pipeline: SegmentationReport?
}

/// Runs a pipeline over a loader's slices and accumulates every metric.
public enum Evaluator {
    /// Evaluates `pipeline` on every batch of `loader` (an evaluation loader: no shuffle, no
    /// augmentation, each patient's slices together). Predicted volumes are cleaned by
    /// `postprocessing` before they are scored. `progress(done, total)` is called after each batch.
    /// Throws when the loader has no slice, or when a patient's slices are not contiguous.
    public static func evaluate(_ pipeline: TwoStagePipeline, loader: Loader, part: String,
                                postprocessing: VolumePostprocessing = .none,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> EvaluationReport {
        guard !loader.records.isEmpty else { throw TrainingDataError("no slices to evaluate in part '\(part)'") }
        var scores: [Float] = [], labels: [Int] = []
        var confusion = BinaryConfusionMatrix()
        var volumes = VolumeScorer(postprocessing: postprocessing)
        // A patient's slices wait here until the patient ends: a gate that reads neighbouring slices
        // decides each slice only once all of them are known.
        var pending: [PendingSlice] = []
        func finishPatient() throws {
            var probabilities = pending.map(\.probability)
            let evidence = pending.compactMap(\.evidence)
            if pipeline.neighbourReach > 0, evidence.count == pending.count {
                let volume = Dictionary(zip(pending.map(\.slice.sliceNumber), evidence), uniquingKeysWith: { first, _ in first })
                if let read = pipeline.tumorProbabilities(volume: volume) {
                    probabilities = pending.map { read[$0.slice.sliceNumber] }
                }
            }
            for (item, p) in zip(pending, probabilities) {
                if let p {
                    scores.append(p)
                    labels.append(item.label)
                    confusion.add(predicted: p >= pipeline.threshold, actual: item.label == 1)
                }
                if let predicted = item.predicted {
                    try volumes.add(item.slice, width: item.width, predicted: predicted, truth: item.truth,
                                    flagged: p.map { $0 >= pipeline.gateThreshold } ?? true)
                }
            }
            pending = []
        }
        let epoch = loader.batches(epoch: 0)
        var done = 0
        while let batch = try epoch.next() {
            let side = batch.images.shape[1]
            let (probabilities, masks, evidence) = pipeline.stages(batch.images)
            for (i, slice) in batch.slices.enumerated() {
                if let last = pending.last, last.slice.patientID != slice.patientID { try finishPatient() }
                let pixels = (i * side * side)..<((i + 1) * side * side)
                pending.append(PendingSlice(
                    slice: slice, label: batch.labels[i], probability: probabilities?[i], evidence: evidence?[i],
                    width: side, predicted: masks.map { m in m.scalars[pixels].map { $0 > 0.5 ? 1 : 0 } },
                    truth: batch.masks.scalars[pixels].map { $0 > 0.5 ? 1 : 0 }))
            }
            done += 1
            progress(done, epoch.batchCount)
        }
        try finishPatient()
        try volumes.finishPatient()
        let classifier = pipeline.classifier == nil ? nil : ClassifierReport(
            threshold: pipeline.threshold, accuracy: confusion.accuracy, sensitivity: confusion.recall,
            specificity: confusion.specificity, precision: confusion.precision, f1: confusion.f1,
            rocAUC: try rocAUC(scores: scores, labels: labels), confusion: confusion)
        return EvaluationReport(
            part: part, patients: Set(loader.records.map(\.patientID)).count, slices: loader.records.count,
            postprocessing: postprocessing, flipTestTimeAugmentation: pipeline.flipTestTimeAugmentation,
            classifier: classifier,
            segmenter: pipeline.segmenter == nil ? nil : volumes.report(gated: false, gateThreshold: nil),
            pipeline: pipeline.segmenter == nil || pipeline.classifier == nil
                ? nil : volumes.report(gated: true, gateThreshold: pipeline.gateThreshold))
    }
}

/// One slice's first-pass results, held until its patient's last slice has passed.
private struct PendingSlice {
    var slice: SliceRecord
    var label: Int
    /// P(tumor) of the slice read alone.
    var probability: Float?
    var evidence: MaskEvidence?
    var width: Int
    var predicted: [UInt8]?
    var truth: [UInt8]
}

/// Per-volume scoring of the segmenter alone and of the gated pipeline, one patient at a time.
private struct VolumeScorer {
    struct Slice {
        var number: Int
        var predicted: [UInt8]
        var truth: [UInt8]
        var flagged: Bool
    }

    let postprocessing: VolumePostprocessing
    private var patient: String?
    private var width = 0
    private var held: [Slice] = []
    private var finished: Set<String> = []
    private var tumorSlices: [String: Int] = [:]
    private var everySlice = VolumeDiceAccumulator(), gated = VolumeDiceAccumulator()
    /// Slices scored, and those of them the classifier flagged.
    private var segmented = 0, flaggedSlices = 0

    init(postprocessing: VolumePostprocessing) { self.postprocessing = postprocessing }

    mutating func add(_ slice: SliceRecord, width: Int, predicted: [UInt8], truth: [UInt8], flagged isFlagged: Bool) throws {
        if slice.patientID != patient {
            try finishPatient()
            guard !finished.contains(slice.patientID) else {
                throw TrainingDataError("patient \(slice.patientID)'s slices are not together in the loader's order")
            }
            patient = slice.patientID
        }
        self.width = width
        held.append(Slice(number: slice.sliceNumber, predicted: predicted, truth: truth, flagged: isFlagged))
        segmented += 1
        if isFlagged { flaggedSlices += 1 }
    }

    /// Scores the held patient's volume (both ways) and drops its masks.
    mutating func finishPatient() throws {
        guard let patient else { return }
        let slices = held.sorted { $0.number < $1.number }
        let empty = [UInt8](repeating: 0, count: slices.first?.predicted.count ?? 0)
        let alone = postprocessing.apply(slices.map(\.predicted), width: width)
        let piped = postprocessing.apply(slices.map { $0.flagged ? $0.predicted : empty }, width: width)
        for (k, s) in slices.enumerated() {
            try everySlice.add(patient: patient, predicted: alone[k], truth: s.truth)
            try gated.add(patient: patient, predicted: piped[k], truth: s.truth)
        }
        tumorSlices[patient] = slices.filter { $0.truth.contains { $0 != 0 } }.count
        finished.insert(patient)
        self.patient = nil
        held = []
    }

    func report(gated isGated: Bool, gateThreshold: Float?) -> SegmentationReport {
        let accumulator = isGated ? gated : everySlice
        let rows = accumulator.scores.map { v in
            PatientScore(patient: v.patient, slices: v.slices, tumorSlices: tumorSlices[v.patient] ?? 0, dice: v.dice,
                         truthVoxels: v.overlap.truthArea, predictedVoxels: v.overlap.predictedArea)
        }
        // Stable sort over rows already in patient-id order: ties and tumor-free patients stay by id.
        let sorted = rows.enumerated().sorted { a, b in
            switch (a.element.dice, b.element.dice) {
            case let (x?, y?) where x != y: return x > y
            case (nil, .some): return false
            case (.some, nil): return true
            default: return a.offset < b.offset
            }
        }.map(\.element)
        let summary = accumulator.summary
        return SegmentationReport(
            volumes: summary?.volumes ?? 0, meanDice: summary?.mean, medianDice: summary?.median,
            pooledIoU: accumulator.pooled.iou, pooledDice: accumulator.pooled.dice, gateThreshold: gateThreshold,
            segmentedSlices: isGated ? flaggedSlices : segmented, patients: sorted)
    }
}
