import GliaCore
import GliaTestSupport
import XCTest

final class MetricTests: XCTestCase {
    // MARK: classification

    func testConfusionMatrixAndRatios() throws {
        // Predictions (p > 0.5): T F T F F (0.5 itself is negative).
        let m = try BinaryConfusionMatrix(probabilities: [0.9, 0.4, 0.6, 0.1, 0.5], labels: [1, 1, 0, 0, 1])
        XCTAssertEqual([m.truePositives, m.falseNegatives, m.falsePositives, m.trueNegatives], [1, 2, 1, 1])
        XCTAssertEqual(m.accuracy, 2.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(m.precision, 1.0 / 2, accuracy: 1e-12)
        XCTAssertEqual(m.recall, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.specificity, 1.0 / 2, accuracy: 1e-12)
        XCTAssertEqual(m.f1, 2 * 0.5 * (1.0 / 3) / (0.5 + 1.0 / 3), accuracy: 1e-12)
        let lower = try BinaryConfusionMatrix(probabilities: [0.9, 0.4, 0.6, 0.1, 0.5], labels: [1, 1, 0, 0, 1],
                                              threshold: 0.3)
        XCTAssertEqual(lower.truePositives, 3)
        var merged = m
        merged.merge(lower)
        XCTAssertEqual(merged.total, 10)
    }

    func testZeroDenominatorsAreZero() throws {
        let allNegative = try BinaryConfusionMatrix(probabilities: [0.1, 0.2], labels: [0, 0])
        XCTAssertEqual(allNegative.accuracy, 1)
        XCTAssertEqual(allNegative.precision, 0)
        XCTAssertEqual(allNegative.recall, 0)
        XCTAssertEqual(allNegative.f1, 0)
        XCTAssertEqual(BinaryConfusionMatrix().accuracy, 0)
        XCTAssertThrowsError(try BinaryConfusionMatrix(probabilities: [0.1], labels: [2])) {
            XCTAssertEqual($0 as? MetricError, .invalidLabel(label: 2, index: 0))
        }
        XCTAssertThrowsError(try BinaryConfusionMatrix(probabilities: [0.1], labels: []))
    }

    func testROCAUCByHand() throws {
        // scikit-learn's documented example.
        XCTAssertEqual(try rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) ?? -1, 0.75, accuracy: 1e-12)
        // Pairs (pos, neg): (0.5, 0.2) = 1, (0.5, 0.5) = 1/2, (0.9, both) = 2 -> 3.5 / 4.
        XCTAssertEqual(try rocAUC(scores: [0.2, 0.5, 0.5, 0.9], labels: [0, 1, 0, 1]) ?? -1, 0.875, accuracy: 1e-12)
        XCTAssertEqual(try rocAUC(scores: [0.5, 0.5, 0.5], labels: [0, 1, 1]) ?? -1, 0.5, accuracy: 1e-12)
        XCTAssertEqual(try rocAUC(scores: [0.9, 0.1], labels: [0, 1]) ?? -1, 0, accuracy: 1e-12)
        XCTAssertNil(try rocAUC(scores: [0.1, 0.2], labels: [1, 1]))
        XCTAssertThrowsError(try rocAUC(scores: [.nan, 0.2], labels: [0, 1]))
    }

    func testROCAUCMatchesPairCountingWithTies() throws {
        var rng = RandomGenerator(seed: 3)
        let scores = (0..<200).map { _ in Float(rng.nextInt(below: 12)) / 12 }
        let labels = scores.map { rng.nextUniform() < 0.3 + Float($0) * 0.4 ? 1 : 0 }
        var wins = 0.0, pairs = 0.0
        for i in scores.indices where labels[i] == 1 {
            for j in scores.indices where labels[j] == 0 {
                pairs += 1
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
            }
        }
        XCTAssertEqual(try rocAUC(scores: scores, labels: labels) ?? -1, wins / pairs, accuracy: 1e-12)
    }

    // MARK: segmentation

    func testMaskOverlapMetrics() throws {
        let o = try MaskOverlap(predicted: [1, 255, 0, 0, 1, 0], truth: [1, 0, 1, 0, 1, 0])
        XCTAssertEqual([o.truePositives, o.falsePositives, o.falseNegatives], [2, 1, 1])
        XCTAssertEqual(o.dice, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(o.iou, 2.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(o.tverskyIndex(), 2.0 / 3.0, accuracy: 1e-12)  // 2 / (2 + 0.7 + 0.3)
        XCTAssertEqual(o.tverskyIndex(alpha: 0.5, beta: 0.5), o.dice, accuracy: 1e-12)

        let empty = try MaskOverlap(predicted: [0, 0], truth: [0, 0])
        XCTAssertEqual([empty.dice, empty.iou, empty.tverskyIndex()], [1, 1, 1])
        let missed = try MaskOverlap(predicted: [0, 0], truth: [0, 1])
        XCTAssertEqual([missed.dice, missed.iou, missed.tverskyIndex()], [0, 0, 0])
        XCTAssertThrowsError(try MaskOverlap(predicted: [0], truth: [0, 1]))
    }

    func testMaskOverlapFromTensors() throws {
        let p = Tensor(shape: [1, 2, 2, 1], scalars: [0.9, 0.5, 0.51, 0.2])
        let y = Tensor(shape: [1, 2, 2, 1], scalars: [1, 1, 0, 0])
        let o = try MaskOverlap(probabilities: p, truth: y)
        XCTAssertEqual([o.truePositives, o.falsePositives, o.falseNegatives], [1, 1, 1])
        let strict = try MaskOverlap(probabilities: p, truth: y, threshold: 0.6)
        XCTAssertEqual([strict.truePositives, strict.falsePositives, strict.falseNegatives], [1, 0, 1])
        XCTAssertThrowsError(try MaskOverlap(probabilities: p, truth: Tensor(shape: [4])))
    }

    func testPerVolumeDiceStacksSlicesPerPatient() throws {
        var acc = VolumeDiceAccumulator()
        XCTAssertNil(acc.summary)
        // Patient A, slice 1: TP 1, FP 1. Patient B: perfect. Patient A, slice 2: FN 2. Patient C: empty.
        try acc.add(patient: "A", predicted: [1, 1, 0, 0], truth: [1, 0, 0, 0])
        try acc.add(patient: "B", predicted: [1, 0, 1, 0], truth: [1, 0, 1, 0])
        try acc.add(patient: "A", predicted: [0, 0, 0, 0], truth: [0, 0, 1, 1])
        // A's volume: TP 1, FP 1, FN 2 -> 2 / (2 + 1 + 2) = 0.4 (the mean of its slice Dice would be 1/3).
        let scores = acc.scores
        XCTAssertEqual(scores.map(\.patient), ["A", "B"])
        XCTAssertEqual(try XCTUnwrap(scores[0].dice), 0.4, accuracy: 1e-12)
        XCTAssertEqual(scores[0].slices, 2)
        XCTAssertEqual(acc.summary, VolumeDiceSummary(volumes: 2, mean: 0.7, median: 0.7))

        // Patients without tumor (C predicted nothing, D a false positive) have no Dice, count in
        // neither mean nor median, but their pixels still count in the pooled overlap.
        var other = VolumeDiceAccumulator()
        try other.add(patient: "C", probabilities: Tensor(shape: [2, 2], scalars: [0.1, 0.2, 0.3, 0.4]),
                      truth: Tensor(shape: [2, 2]))
        try other.add(patient: "D", predicted: [0, 1, 0, 0], truth: [0, 0, 0, 0])
        try other.add(patient: "E", predicted: [1, 0, 0, 0], truth: [1, 0, 0, 0])
        acc.merge(other)
        XCTAssertEqual(acc.scores.map(\.patient), ["A", "B", "C", "D", "E"])
        XCTAssertNil(acc.scores[2].dice)
        XCTAssertNil(acc.scores[3].dice)
        let summary = try XCTUnwrap(acc.summary)
        XCTAssertEqual(summary.volumes, 3)
        XCTAssertEqual(summary.mean, 0.8, accuracy: 1e-12)  // (0.4 + 1 + 1) / 3
        XCTAssertEqual(summary.median, 1)
        XCTAssertEqual(acc.pooled, MaskOverlap(truePositives: 4, falsePositives: 2, falseNegatives: 2))

        var tumorFree = VolumeDiceAccumulator()
        try tumorFree.add(patient: "F", predicted: [1, 1], truth: [0, 0])
        XCTAssertNil(tumorFree.summary, "no Dice without a patient with tumor")
        XCTAssertThrowsError(try acc.add(patient: "A", predicted: [1], truth: [1, 0]))
    }
}
