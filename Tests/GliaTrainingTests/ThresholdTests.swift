import GliaTraining
import XCTest

final class ThresholdTests: XCTestCase {
    func testDecisionThresholdMaximisesAccuracy() {
        // Tumor slices score 0.3 and up, healthy ones 0.25 and below except one at 0.35.
        let scores: [Float] = [0.05, 0.1, 0.25, 0.35, 0.3, 0.4, 0.8, 0.9]
        let labels = [0, 0, 0, 0, 1, 1, 1, 1]
        let t = ThresholdChoice.decision(scores: scores, labels: labels)
        // Either 0.3 or 0.4 gives 7 of 8; 0.4 is nearer 0.5.
        XCTAssertEqual(t, 0.4)
        let correct = zip(scores, labels).filter { ($0 >= t) == ($1 == 1) }.count
        XCTAssertEqual(correct, 7)
    }

    func testGateDropsFalseAlarmsButKeepsRealTumor() {
        // Patient A: a tumor slice (score 0.9, good mask) and a healthy slice with a false mask (0.2).
        // Patient B: a small tumor slice with a low score (0.3) whose mask is right.
        let overlaps = [
            SliceOverlap(patientID: "A", intersection: 90, predicted: 100, truth: 100),
            SliceOverlap(patientID: "A", intersection: 0, predicted: 100, truth: 0),
            SliceOverlap(patientID: "B", intersection: 20, predicted: 20, truth: 20),
        ]
        let scores: [Float] = [0.9, 0.2, 0.3]
        let (t, dice) = ThresholdChoice.gate(scores: scores, overlaps: overlaps)
        XCTAssertEqual(t, 0.3, "drops the false alarm at 0.2, keeps B's tumor at 0.3")
        XCTAssertEqual(try XCTUnwrap(dice), (180.0 / 200 + 1) / 2, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(ThresholdChoice.meanVolumeDice(scores: scores, overlaps: overlaps, gate: 0)),
                       (180.0 / 300 + 1) / 2, accuracy: 1e-12)
    }

    func testPatientsWithoutTumorHaveNoDice() {
        let overlaps = [SliceOverlap(patientID: "H", intersection: 0, predicted: 5, truth: 0)]
        XCTAssertNil(ThresholdChoice.meanVolumeDice(scores: [0.5], overlaps: overlaps, gate: 0))
        XCTAssertNil(ThresholdChoice.gate(scores: [0.5], overlaps: overlaps).meanDice)
    }
}
