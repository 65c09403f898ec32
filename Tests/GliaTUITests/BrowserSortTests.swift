// The browser's lists sort by every column they show, plus the disagreement of prediction and
// truth; sorts by model output are redone as predictions arrive, the selection kept by identity.
import Foundation
import GliaData
import GliaTUI
import XCTest

final class BrowserSortTests: XCTestCase {
    /// Slice numbers of the selected patient in list order.
    private static func numbers(_ pane: BrowserPane) -> [Int] {
        guard let patient = pane.selectedPatient else { return [] }
        return pane.sliceRows.map { patient.slices[$0].number }
    }

    func testSlicesSortByEveryColumnAndByDisagreement() {
        MainActor.assumeIsolated {
            let source = AppTests.source()
            var pane = BrowserPane(source: source)
            pane.patients.select(2)
            pane.patientSelectionChanged()
            let id = source.patients[2].id  // slices 1-8, truth area 3n on even slices
            func p(_ probability: Float, dice: Double, predicted: Int, truth: Int) -> CachedPrediction {
                CachedPrediction(probability: probability, flagged: probability >= 0.5, mask: nil, predictedArea: predicted, dice: dice,
                                 truthArea: truth)
            }
            let predictions: [SliceKey: CachedPrediction] = [
                SliceKey(patient: id, slice: 1): p(0.2, dice: 1, predicted: 0, truth: 0),      // disagreement 0.2
                SliceKey(patient: id, slice: 2): p(0.9, dice: 0.8, predicted: 5, truth: 6),    // 0.2 (1 - Dice, just under)
                SliceKey(patient: id, slice: 3): p(0.7, dice: 0, predicted: 10, truth: 0),     // 1
                SliceKey(patient: id, slice: 4): p(0.1, dice: 0, predicted: 0, truth: 12),     // 1
                SliceKey(patient: id, slice: 6): p(0.95, dice: 0.5, predicted: 9, truth: 18),  // 0.5
                SliceKey(patient: id, slice: 7): p(0.3, dice: 1, predicted: 0, truth: 0),      // 0.3
                SliceKey(patient: id, slice: 8): p(0.6, dice: 0.9, predicted: 22, truth: 24),  // 0.4
            ]
            let decisions = [SliceKey(patient: id, slice: 3): "accept", SliceKey(patient: id, slice: 6): "flag",
                             SliceKey(patient: id, slice: 8): "reject"]
            pane.updateModelOutput(predictions: predictions, decisions: decisions, version: 1)
            let expected: [(SliceSort, [Int])] = [
                (.truth, [2, 4, 6, 8, 1, 3, 5, 7]),
                (.tumorArea, [8, 6, 4, 2, 1, 3, 5, 7]),
                (.probability, [6, 2, 3, 8, 7, 1, 4, 5]),  // slice 5 has no prediction: last
                (.dice, [3, 4, 6, 2, 8, 1, 7, 5]),         // worst first
                (.disagreement, [3, 4, 6, 8, 7, 1, 2, 5]),
                (.triage, [6, 8, 3, 1, 2, 4, 5, 7]),       // flag, reject, accept, then undecided
                (.number, [1, 2, 3, 4, 5, 6, 7, 8]),
            ]
            XCTAssertEqual(expected.count, SliceSort.allCases.count, "every order is checked")
            pane.slices.select(4)  // slice 5
            for (sort, order) in expected {
                pane.cycleSliceSort()
                XCTAssertEqual(pane.sliceSort, sort)
                XCTAssertEqual(Self.numbers(pane), order, sort.label)
                XCTAssertEqual(pane.selectedSlice?.number, 5, "selection kept across the \(sort.label) sort")
            }
        }
    }

    func testASortByModelOutputIsRedoneAsPredictionsArrive() {
        MainActor.assumeIsolated {
            let source = AppTests.source()
            var pane = BrowserPane(source: source)
            let id = source.patients[0].id  // slices 1-6
            while pane.sliceSort != .probability { pane.cycleSliceSort() }
            XCTAssertEqual(Self.numbers(pane), [1, 2, 3, 4, 5, 6], "nothing predicted yet: slice order")
            pane.slices.select(1)  // slice 2
            var predictions: [SliceKey: CachedPrediction] = [:]
            for (n, probability) in [(3, Float(0.8)), (5, 0.9)] {
                predictions[SliceKey(patient: id, slice: n)] = CachedPrediction(probability: probability, flagged: true, mask: nil,
                                                                               predictedArea: 1, dice: nil, truthArea: nil)
            }
            pane.updateModelOutput(predictions: predictions, decisions: [:], version: 1)
            XCTAssertEqual(Self.numbers(pane), [5, 3, 1, 2, 4, 6])
            XCTAssertEqual(pane.selectedSlice?.number, 2, "the selection stays on its slice")
            predictions[SliceKey(patient: id, slice: 6)] = CachedPrediction(probability: 0.95, flagged: true, mask: nil, predictedArea: 1,
                                                                           dice: nil, truthArea: nil)
            pane.updateModelOutput(predictions: predictions, decisions: [:], version: 2)
            XCTAssertEqual(Self.numbers(pane), [6, 5, 3, 1, 2, 4])
        }
    }

    func testPatientsSortByEveryColumn() {
        MainActor.assumeIsolated {
            let source = AppTests.source()  // 6, 7 and 8 slices; 3, 3 and 4 with a tumor
            var pane = BrowserPane(source: source)
            let ids = source.patients.map(\.id)
            let expected: [(PatientSort, [String])] = [
                (.site, ids),
                (.sliceCount, [ids[2], ids[1], ids[0]]),
                (.tumorSlices, [ids[2], ids[0], ids[1]]),
                (.id, ids),
            ]
            XCTAssertEqual(expected.count, PatientSort.allCases.count)
            for (sort, order) in expected {
                pane.cyclePatientSort()
                XCTAssertEqual(pane.patientSort, sort)
                XCTAssertEqual(pane.patientRows.map { source.patients[$0].id }, order, sort.label)
            }
        }
    }
}
