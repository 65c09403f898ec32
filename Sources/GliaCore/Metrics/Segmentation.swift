// Mask metrics for the segmenter: Dice, IoU and the Tversky index of a predicted mask against the
// true one, and per-volume Dice as in Buda et al. (2019).
//
// Conventions:
// - A mask pixel is positive when its byte is nonzero ([UInt8] masks, SliceMask's 0/1) or, for tensors,
//   when a probability is > threshold and a target is > 0.5.
// - Dice = 2TP / (2TP + FP + FN), IoU = TP / (TP + FP + FN), Tversky = TP / (TP + alpha FN + beta FP).
//   With no positive pixel in either mask (TP = FP = FN = 0) all three are defined as 1: predicting
//   "no tumor" on a tumor-free slice or volume is a perfect answer.
// - Per-volume Dice: each patient's slices are stacked into one volume whose Dice uses the summed
//   TP, FP, FN over its slices; the summary is the mean and median over patients. A patient without
//   any tumor pixel has no Dice and is left out of the summary: its volume Dice would be 1 or 0 by
//   whether a single pixel was predicted, which says nothing about how tumors are drawn. The
//   accumulator keeps three counts per patient, never the masks, so an evaluation can stream slice
//   by slice.
import Foundation

/// Pixel counts of a predicted mask against the true mask.
public struct MaskOverlap: Sendable, Equatable, Codable {
    /// Pixels positive in both masks.
    public var truePositives = 0
    /// Pixels positive only in the prediction.
    public var falsePositives = 0
    /// Pixels positive only in the truth.
    public var falseNegatives = 0

    /// Zero counts.
    public init() {}

    /// Given counts.
    public init(truePositives: Int, falsePositives: Int, falseNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
    }

    /// Counts from two masks of equal length (nonzero = positive).
    public init(predicted: [UInt8], truth: [UInt8]) throws {
        guard predicted.count == truth.count else {
            throw MetricError.sizeMismatch(what: "mask overlap", first: [predicted.count], second: [truth.count])
        }
        predicted.withUnsafeBufferPointer { p in
            truth.withUnsafeBufferPointer { t in
                for i in 0..<p.count { count(predicted: p[i] != 0, actual: t[i] != 0) }
            }
        }
    }

    /// Counts from probabilities (positive when > threshold) and targets (positive when > 0.5) of the same shape.
    public init(probabilities: Tensor, truth: Tensor, threshold: Float = 0.5) throws {
        guard probabilities.shape == truth.shape else {
            throw MetricError.sizeMismatch(what: "mask overlap", first: probabilities.shape, second: truth.shape)
        }
        probabilities.scalars.withUnsafeBufferPointer { p in
            truth.scalars.withUnsafeBufferPointer { t in
                for i in 0..<p.count { count(predicted: p[i] > threshold, actual: t[i] > 0.5) }
            }
        }
    }

    @inline(__always) private mutating func count(predicted: Bool, actual: Bool) {
        if predicted && actual { truePositives += 1 } else if predicted { falsePositives += 1 } else if actual {
            falseNegatives += 1
        }
    }

    /// Adds another overlap's counts (more slices of the same volume, more batches).
    public mutating func merge(_ other: MaskOverlap) {
        truePositives += other.truePositives
        falsePositives += other.falsePositives
        falseNegatives += other.falseNegatives
    }

    /// Positive pixels in the prediction.
    public var predictedArea: Int { truePositives + falsePositives }
    /// Positive pixels in the truth.
    public var truthArea: Int { truePositives + falseNegatives }
    /// True when neither mask has a positive pixel.
    public var isEmpty: Bool { truePositives + falsePositives + falseNegatives == 0 }

    /// 2TP / (2TP + FP + FN); 1 when both masks are empty.
    public var dice: Double {
        isEmpty ? 1 : Double(2 * truePositives) / Double(2 * truePositives + falsePositives + falseNegatives)
    }

    /// TP / (TP + FP + FN) (Jaccard); 1 when both masks are empty.
    public var iou: Double {
        isEmpty ? 1 : Double(truePositives) / Double(truePositives + falsePositives + falseNegatives)
    }

    /// TP / (TP + alpha FN + beta FP); 1 when both masks are empty. Defaults match the Tversky loss.
    public func tverskyIndex(alpha: Double = 0.7, beta: Double = 0.3) -> Double {
        if isEmpty { return 1 }
        let tp = Double(truePositives)
        let denominator = tp + alpha * Double(falseNegatives) + beta * Double(falsePositives)
        return denominator == 0 ? 1 : tp / denominator
    }
}

/// One patient's volume in a per-volume Dice evaluation.
public struct VolumeScore: Sendable, Equatable {
    /// Patient (volume) identifier.
    public var patient: String
    /// Summed counts over the patient's slices.
    public var overlap: MaskOverlap
    /// Number of slices added.
    public var slices: Int
    /// Dice of the stacked volume; nil when the patient has no tumor pixel (nothing to segment).
    public var dice: Double? { overlap.truthArea == 0 ? nil : overlap.dice }

    /// A volume's score from its counts.
    public init(patient: String, overlap: MaskOverlap, slices: Int) {
        self.patient = patient
        self.overlap = overlap
        self.slices = slices
    }
}

/// Mean and median of per-volume Dice.
public struct VolumeDiceSummary: Sendable, Equatable {
    /// Number of volumes with a Dice (patients with tumor).
    public var volumes: Int
    /// Mean Dice over volumes.
    public var mean: Double
    /// Median Dice over volumes (mean of the two middle values for an even count).
    public var median: Double

    /// A summary from its values.
    public init(volumes: Int, mean: Double, median: Double) {
        self.volumes = volumes
        self.mean = mean
        self.median = median
    }
}

/// Per-volume Dice (Buda et al.): feed slices one at a time with their patient id, read per-patient
/// Dice and the mean / median over patients. Keeps only counts per patient.
public struct VolumeDiceAccumulator: Sendable {
    private var volumes: [String: (overlap: MaskOverlap, slices: Int)] = [:]

    /// An empty accumulator.
    public init() {}

    /// Adds one slice's counts to `patient`'s volume.
    public mutating func add(patient: String, overlap: MaskOverlap) {
        var v = volumes[patient] ?? (MaskOverlap(), 0)
        v.overlap.merge(overlap)
        v.slices += 1
        volumes[patient] = v
    }

    /// Adds one slice given as byte masks (nonzero = positive).
    public mutating func add(patient: String, predicted: [UInt8], truth: [UInt8]) throws {
        add(patient: patient, overlap: try MaskOverlap(predicted: predicted, truth: truth))
    }

    /// Adds one slice given as probabilities (> threshold positive) and a target tensor (> 0.5 positive).
    public mutating func add(patient: String, probabilities: Tensor, truth: Tensor, threshold: Float = 0.5) throws {
        add(patient: patient, overlap: try MaskOverlap(probabilities: probabilities, truth: truth, threshold: threshold))
    }

    /// Adds all volumes of another accumulator (parallel evaluation).
    public mutating func merge(_ other: VolumeDiceAccumulator) {
        for (patient, v) in other.volumes {
            var mine = volumes[patient] ?? (MaskOverlap(), 0)
            mine.overlap.merge(v.overlap)
            mine.slices += v.slices
            volumes[patient] = mine
        }
    }

    /// Every volume, sorted by patient id.
    public var scores: [VolumeScore] {
        volumes.keys.sorted().map { VolumeScore(patient: $0, overlap: volumes[$0]!.overlap, slices: volumes[$0]!.slices) }
    }

    /// All slices of all patients pooled into one overlap (the per-pixel Dice of the whole set).
    public var pooled: MaskOverlap {
        volumes.values.reduce(into: MaskOverlap()) { $0.merge($1.overlap) }
    }

    /// Mean and median per-volume Dice over patients with tumor; nil when no patient has one.
    public var summary: VolumeDiceSummary? {
        let dice = scores.compactMap(\.dice).sorted()
        guard !dice.isEmpty else { return nil }
        let mid = dice.count / 2
        let median = dice.count % 2 == 1 ? dice[mid] : (dice[mid - 1] + dice[mid]) / 2
        return VolumeDiceSummary(volumes: dice.count, mean: dice.reduce(0, +) / Double(dice.count), median: median)
    }
}
