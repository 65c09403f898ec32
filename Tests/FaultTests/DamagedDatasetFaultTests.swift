// A damaged dataset (issue 14 item 4): one slice per patient cut short. `data check` lists them;
// `train` and `eval` leave them out with a warning each and go on, and the run counts them.
import Foundation
import GliaData
import GliaTestSupport
import XCTest

final class DamagedDatasetFaultTests: XCTestCase {
    private var files: FaultFiles!

    override func setUpWithError() throws {
        guard GliaProcess.executable != nil else { throw XCTSkip("glia executable not built") }
        files = try FaultFiles.make()
    }

    override func tearDown() { files?.remove() }

    /// A 4-patient phantom with the first image of each patient truncated; returns the damaged paths.
    private func damagedDataset() throws -> (URL, [String]) {
        let data = files.url("data")
        let synth = try GliaProcess.run(["synth", "--out", data.path, "--patients", "4"])
        XCTAssertEqual(synth.status, 0, synth.errors)
        var damaged: [String] = []
        for patient in try FileManager.default.contentsOfDirectory(atPath: data.path).sorted() where patient.hasPrefix("SYN_") {
            let url = data.appendingPathComponent(patient).appendingPathComponent("\(patient)_1.tif")
            try FaultFiles.truncateSlice(at: url)
            damaged.append(url.path)
        }
        return (data, damaged)
    }

    func testUndecodableSlicesAreSkippedWithAWarningByTrainAndEval() throws {
        let (data, damaged) = try damagedDataset()
        let ws = files.url("ws").path
        let check = try GliaProcess.run(["data", "check", data.path])
        for path in damaged { XCTAssertTrue(check.output.contains(path) || check.errors.contains(path), "data check lists \(path)") }

        let train = try GliaProcess.run(["train", "segmenter", "--data", data.path, "--workspace", ws, "--epochs", "1",
                                         "--max-steps", "2", "--image-size", "32", "--batch-size", "4"])
        XCTAssertEqual(train.status, 0, train.output + train.errors)
        // The run reads its training and validation patients only; the test patient's slice is eval's.
        let skippedLines = train.output.split(separator: "\n").filter { $0.hasPrefix("skipped slice ") }
        XCTAssertGreaterThanOrEqual(skippedLines.count, 2, train.output)
        for line in skippedLines {
            XCTAssertTrue(damaged.contains { line.hasPrefix("skipped slice \($0): cannot decode strip 0") }, String(line))
        }
        XCTAssertTrue(train.output.contains("saved best checkpoint"), train.output)

        let runs = try GliaProcess.run(["runs", "--workspace", ws, "--json"])
        let listed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(runs.output.utf8)) as? [[String: Any]])
        XCTAssertEqual(listed.first?["skippedSlices"] as? Int, skippedLines.count, runs.output)
        let run = try XCTUnwrap(listed.first?["id"] as? String)

        let eval = try GliaProcess.run(["eval", "--segmenter", run, "--data", data.path, "--part", "all",
                                        "--workspace", ws, "--json"])
        XCTAssertEqual(eval.status, 0, eval.errors)
        for path in damaged { XCTAssertTrue(eval.errors.contains("warning: skipped slice \(path)"), eval.errors) }
    }
}
