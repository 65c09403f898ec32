// Thresholds chosen on validation patients and stored with a classifier:
// - the decision threshold: P(tumor) >= t calls a slice tumor; t maximises slice accuracy (ties: the
//   candidate nearest 0.5, so a flat optimum keeps the usual midpoint);
// - the gate threshold of the two-stage pipeline: slices with P(tumor) >= t are segmented, the rest
//   get an empty mask; t maximises the mean per-volume Dice over patients with tumor (ties: the
//   lowest t, which segments the most).
// Candidates are 0 and every observed score, so the chosen t reproduces exactly the decisions seen.
import GliaCore

/// One slice's predicted mask against its truth (at 256x256), with its patient.
public struct SliceOverlap: Sendable, Equatable {
    public var patientID: String
    public var overlap: MaskOverlap

    public init(patientID: String, overlap: MaskOverlap) {
        self.patientID = patientID
        self.overlap = overlap
    }

    /// From pixel counts: in both masks, in the predicted mask, in the true mask.
    public init(patientID: String, intersection: Int, predicted: Int, truth: Int) {
        self.init(patientID: patientID, overlap: MaskOverlap(truePositives: intersection, falsePositives: predicted - intersection,
                                                             falseNegatives: truth - intersection))
    }
}

/// Picks the stored thresholds from validation scores.
public enum ThresholdChoice {
    /// The decision threshold that maximises accuracy of `scores >= t` against `labels` (1 = tumor).
    public static func decision(scores: [Float], labels: [Int]) -> Float {
        precondition(scores.count == labels.count, "one label per score")
        guard !scores.isEmpty else { return 0.5 }
        var best: (t: Float, correct: Int)?
        for t in candidates(scores) {
            var correct = 0
            for (s, y) in zip(scores, labels) where (s >= t) == (y == 1) { correct += 1 }
            if let b = best, correct < b.correct || (correct == b.correct && abs(t - 0.5) >= abs(b.t - 0.5)) { continue }
            best = (t, correct)
        }
        return best!.t
    }

    /// The gate threshold that maximises the mean per-volume Dice of the gated masks, and that mean
    /// (nil when no patient has tumor).
    public static func gate(scores: [Float], overlaps: [SliceOverlap]) -> (threshold: Float, meanDice: Double?) {
        precondition(scores.count == overlaps.count, "one overlap per score")
        var best: (t: Float, dice: Double)?
        for t in candidates(scores) {
            guard let dice = meanVolumeDice(scores: scores, overlaps: overlaps, gate: t) else { return (0.5, nil) }
            if let b = best, dice <= b.dice { continue }
            best = (t, dice)
        }
        return best.map { ($0.t, $0.dice) } ?? (0.5, nil)
    }

    /// Mean per-volume Dice over patients with tumor when only slices scoring >= `t` keep their
    /// predicted mask (the others predict nothing); nil when no patient has tumor.
    public static func meanVolumeDice(scores: [Float], overlaps: [SliceOverlap], gate t: Float) -> Double? {
        var volumes = VolumeDiceAccumulator()
        for (s, o) in zip(scores, overlaps) {
            let kept = s >= t ? o.overlap : MaskOverlap(truePositives: 0, falsePositives: 0, falseNegatives: o.overlap.truthArea)
            volumes.add(patient: o.patientID, overlap: kept)
        }
        return volumes.summary?.mean
    }

    /// 0 and each distinct score, ascending.
    private static func candidates(_ scores: [Float]) -> [Float] {
        Array(Set(scores + [0])).sorted()
    }
}
