// Binary classification metrics for the tumor / no-tumor slice classifier.
//
// Conventions:
// - Labels are 0 (negative, no tumor) or 1 (positive, tumor). A probability p counts as a positive
//   prediction when p > threshold (strictly), which at 0.5 agrees with argmax over two logits
//   (argmax picks class 0 on a tie).
// - A ratio whose denominator is 0 is defined as 0 (scikit-learn's zero_division=0): precision with no
//   positive predictions, recall with no positive labels, F1 with no positives at all, accuracy of an
//   empty matrix.
// - ROC-AUC is the Mann-Whitney statistic: the probability that a random positive scores above a
//   random negative, ties counting 1/2 (equal to the trapezoid area under the ROC curve). Undefined
//   (nil) unless both classes are present.
import Foundation

/// Why a metric could not be computed from its inputs.
public enum MetricError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// Two inputs that must pair up element by element have different lengths or shapes.
    case sizeMismatch(what: String, first: [Int], second: [Int])
    /// A class label other than 0 or 1.
    case invalidLabel(label: Int, index: Int)
    /// A NaN or infinite score, which has no place in a ranking.
    case nonFiniteScore(index: Int)

    public var description: String {
        switch self {
        case let .sizeMismatch(what, first, second): return "\(what): sizes \(first) and \(second) differ"
        case let .invalidLabel(label, index): return "label \(label) at index \(index) is not 0 or 1"
        case let .nonFiniteScore(index): return "score at index \(index) is not finite"
        }
    }

    public var errorDescription: String? { description }
}

/// Counts of a binary classifier's outcomes, and the ratios built on them.
public struct BinaryConfusionMatrix: Sendable, Equatable, Codable {
    /// Positive predictions of positive labels.
    public var truePositives = 0
    /// Positive predictions of negative labels.
    public var falsePositives = 0
    /// Negative predictions of negative labels.
    public var trueNegatives = 0
    /// Negative predictions of positive labels.
    public var falseNegatives = 0

    /// An empty matrix.
    public init() {}

    /// Counts `probabilities` thresholded at `threshold` (p > threshold is positive) against 0/1 `labels`.
    public init(probabilities: [Float], labels: [Int], threshold: Float = 0.5) throws {
        guard probabilities.count == labels.count else {
            throw MetricError.sizeMismatch(what: "confusion matrix", first: [probabilities.count], second: [labels.count])
        }
        for (i, (p, label)) in zip(probabilities, labels).enumerated() {
            guard label == 0 || label == 1 else { throw MetricError.invalidLabel(label: label, index: i) }
            add(predicted: p > threshold, actual: label == 1)
        }
    }

    /// Adds one outcome.
    public mutating func add(predicted: Bool, actual: Bool) {
        switch (predicted, actual) {
        case (true, true): truePositives += 1
        case (true, false): falsePositives += 1
        case (false, false): trueNegatives += 1
        case (false, true): falseNegatives += 1
        }
    }

    /// Adds another matrix's counts (batches, workers).
    public mutating func merge(_ other: BinaryConfusionMatrix) {
        truePositives += other.truePositives
        falsePositives += other.falsePositives
        trueNegatives += other.trueNegatives
        falseNegatives += other.falseNegatives
    }

    /// Number of outcomes counted.
    public var total: Int { truePositives + falsePositives + trueNegatives + falseNegatives }

    /// (TP + TN) / total; 0 when empty.
    public var accuracy: Double { ratio(truePositives + trueNegatives, total) }
    /// TP / (TP + FP); 0 with no positive predictions.
    public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
    /// TP / (TP + FN), the sensitivity; 0 with no positive labels.
    public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
    /// TN / (TN + FP); 0 with no negative labels.
    public var specificity: Double { ratio(trueNegatives, trueNegatives + falsePositives) }
    /// 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall; 0 when TP + FP + FN = 0.
    public var f1: Double { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }

    private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
}

/// Area under the ROC curve of `scores` against 0/1 `labels` (Mann-Whitney U with ties as 1/2);
/// nil unless both classes occur.
public func rocAUC(scores: [Float], labels: [Int]) throws -> Double? {
    guard scores.count == labels.count else {
        throw MetricError.sizeMismatch(what: "ROC-AUC", first: [scores.count], second: [labels.count])
    }
    for (i, (s, label)) in zip(scores, labels).enumerated() {
        guard label == 0 || label == 1 else { throw MetricError.invalidLabel(label: label, index: i) }
        guard s.isFinite else { throw MetricError.nonFiniteScore(index: i) }
    }
    let positives = labels.reduce(0, +)
    let negatives = labels.count - positives
    guard positives > 0, negatives > 0 else { return nil }
    // Rank sum of the positives, tied scores sharing the average of their ranks (1-based).
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var positiveRankSum = 0.0
    var start = 0
    while start < order.count {
        var end = start
        while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
        let averageRank = Double(start + end + 2) / 2
        for k in start...end where labels[order[k]] == 1 { positiveRankSum += averageRank }
        start = end + 1
    }
    let p = Double(positives), n = Double(negatives)
    return (positiveRankSum - p * (p + 1) / 2) / (p * n)
}
