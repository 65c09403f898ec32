import Foundation
import GliaTraining
import XCTest

final class TriageStoreTests: XCTestCase {
    private var url: URL!

    override func setUpWithError() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("glia-triage-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: url)
    }

    func testDecisionsPersistAcrossReopenAndReplacePerSlice() throws {
        let store = TriageStore(workspace: try Workspace(url: url))
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        try store.record(TriageRecord(patientID: "P_B", sliceNumber: 3, modelRun: "c+s", decision: .accept,
                                      rating: .acceptable, decidedAt: t))
        try store.record(TriageRecord(patientID: "P_A", sliceNumber: 12, modelRun: "c+s", decision: .flag,
                                      note: "check, \"edge\"", decidedAt: t))
        try store.record(TriageRecord(patientID: "P_B", sliceNumber: 3, modelRun: "c+s", decision: .reject,
                                      rating: .wrong, decidedAt: t))
        try store.savePosition(TriagePosition(modelRun: "c+s", ordering: "disagreement", patientID: "P_A",
                                              sliceNumber: 12, updatedAt: t))

        let reopened = TriageStore(workspace: try Workspace(url: url))
        let all = try reopened.decisions()
        XCTAssertEqual(all.map(\.patientID), ["P_A", "P_B"])
        XCTAssertEqual(all[1].decision, .reject, "a later decision replaces the earlier one")
        XCTAssertEqual(all[1].rating, .wrong)
        XCTAssertEqual(try reopened.position(modelRun: "c+s")?.sliceNumber, 12)
        XCTAssertNil(try reopened.position(modelRun: "other"))

        let csv = try reopened.exportCSV(shippedPatients: ["P_B": "val", "P_C": "train"])
        XCTAssertEqual(csv, #"""
            patient,slice,model_run,decision,rating,rating_label,note,time,shipped_split
            P_A,12,c+s,flag,,,"check, ""edge""",2027-01-15T08:00:00Z,
            P_B,3,c+s,reject,4,wrong location / not visible,,2027-01-15T08:00:00Z,val

            """#)
    }
}
