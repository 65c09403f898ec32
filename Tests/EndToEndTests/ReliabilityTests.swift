// End-to-end tests of the fault cases of issue 14 on the built binary: each reproduces a case that went
// wrong (a file overwritten, a hang, a silent omission) and checks the behaviour it now has.
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import XCTest

final class ReliabilityTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        guard GliaProcess.executable != nil else { throw XCTSkip("skipped: glia executable not built") }
        work = FileManager.default.temporaryDirectory.appendingPathComponent("glia-reliability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let work { try? FileManager.default.removeItem(at: work) }
    }

    /// One synthetic slice TIFF and a small untrained segmenter checkpoint.
    private func sliceAndSegmenter() throws -> (slice: URL, segmenter: URL) {
        let data = work.appendingPathComponent("data")
        let synth = try GliaProcess.run(["synth", "--out", data.path, "--patients", "1"])
        XCTAssertEqual(synth.status, 0, synth.errors)
        let enumerator = FileManager.default.enumerator(at: data, includingPropertiesForKeys: nil)
        let slice = try XCTUnwrap((enumerator?.allObjects as? [URL])?.first {
            $0.pathExtension == "tif" && !$0.lastPathComponent.contains("_mask")
        })
        let segmenter = work.appendingPathComponent("seg.safetensors")
        try Checkpoint.saveModel(try ResUNet(configuration: ResUNetConfiguration(filters: [4, 8]), seed: 1), to: segmenter)
        return (slice, segmenter)
    }

    private func copy(_ file: URL, to path: String) throws -> URL {
        let url = work.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: file, to: url)
        return url
    }

    private func maskPaths(_ json: String) throws -> [String] {
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]], json)
        return rows.compactMap { $0["mask"] as? String }
    }

    // Item 5: two images with one file name get two masks, and no mask is written over an input.
    func testPredictNeverOverwritesAnInputOrAnotherMask() throws {
        let (slice, segmenter) = try sliceAndSegmenter()
        let a = try copy(slice, to: "a/x.tif"), b = try copy(slice, to: "b/x.tif")
        let ws = work.appendingPathComponent("ws").path
        let out = work.appendingPathComponent("out")
        let same = try GliaProcess.run(["predict", a.path, b.path, "--segmenter", segmenter.path, "--out", out.path,
                                        "--workspace", ws, "--json"])
        XCTAssertEqual(same.status, 0, same.errors)
        let masks = try maskPaths(same.output)
        XCTAssertEqual(masks.count, 2, same.output)
        XCTAssertEqual(Set(masks).count, 2, "each image has its own mask: \(masks)")
        for mask in masks { XCTAssertTrue(FileManager.default.fileExists(atPath: mask), mask) }
        XCTAssertTrue(same.errors.contains("note: "), same.errors)

        let d = try copy(slice, to: "d/x.tif")
        let input = try copy(slice, to: "d/x_pred.tif")
        let before = try Data(contentsOf: input)
        let intoInputs = try GliaProcess.run(["predict", d.path, input.path, "--segmenter", segmenter.path,
                                              "--out", d.deletingLastPathComponent().path, "--workspace", ws, "--json"])
        XCTAssertEqual(intoInputs.status, 0, intoInputs.errors)
        XCTAssertEqual(try Data(contentsOf: input), before, "the input x_pred.tif is left as it was")
        let written = try maskPaths(intoInputs.output)
        XCTAssertEqual(written.count, 2, intoInputs.output)
        XCTAssertFalse(written.contains { URL(fileURLWithPath: $0).standardizedFileURL == input.standardizedFileURL }, "\(written)")
        XCTAssertTrue(intoInputs.errors.contains("the input image \(input.path)"), intoInputs.errors)
    }

    // Item 18: predict says what it changed to read an image, and output folders that cannot be
    // used are named in one line instead of Foundation's text.
    func testPredictNotesConversionsAndOutputFolderErrorsNameThePath() throws {
        let (_, segmenter) = try sliceAndSegmenter()
        let gray = work.appendingPathComponent("gray.tif")
        try TIFFImage.write(SliceImage(width: 128, height: 96, channels: 1, pixels: [UInt8](repeating: 40, count: 128 * 96)), to: gray)
        let ws = work.appendingPathComponent("ws").path
        let ok = try GliaProcess.run(["predict", gray.path, "--segmenter", segmenter.path, "--out",
                                      work.appendingPathComponent("out").path, "--workspace", ws])
        XCTAssertEqual(ok.status, 0, ok.errors)
        XCTAssertTrue(ok.errors.contains("note: \(gray.path): grayscale image"), ok.errors)
        XCTAssertTrue(ok.errors.contains("resized from 128x96 to 256x256"), ok.errors)

        let file = work.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let onFile = try GliaProcess.run(["predict", gray.path, "--segmenter", segmenter.path, "--out", file.path, "--workspace", ws])
        XCTAssertNotEqual(onFile.status, 0)
        XCTAssertTrue(onFile.errors.contains("\(file.path): is a file, not a folder"), onFile.errors)
        let under = try GliaProcess.run(["synth", "--out", file.appendingPathComponent("data").path, "--patients", "1"])
        XCTAssertNotEqual(under.status, 0)
        XCTAssertTrue(under.errors.contains("\(file.path) is a file, not a folder"), under.errors)
        let synthOnFile = try GliaProcess.run(["synth", "--out", file.path, "--patients", "1"])
        XCTAssertTrue(synthOnFile.errors.contains("is a file, not a folder"), synthOnFile.errors)
        for result in [onFile, under, synthOnFile] {
            XCTAssertFalse(result.errors.contains("NSCocoaErrorDomain") || result.errors.contains("couldn’t"), result.errors)
            XCTAssertEqual(result.errors.split(separator: "\n").count, 1, result.errors)
        }
    }

    // Item 17: SIGTERM (what schedulers and `timeout` send) stops training like Ctrl-C and saves `last`.
    func testSIGTERMDuringTrainingStopsAfterTheStepAndSavesLast() throws {
        let data = work.appendingPathComponent("data")
        let synth = try GliaProcess.run(["synth", "--out", data.path, "--patients", "4"])
        XCTAssertEqual(synth.status, 0, synth.errors)
        let ws = work.appendingPathComponent("ws")
        let log = work.appendingPathComponent("train.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = GliaProcess.executable
        process.arguments = ["train", "segmenter", "--data", data.path, "--workspace", ws.path, "--epochs", "1",
                             "--max-steps", "500", "--batch-size", "2", "--image-size", "64"]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning,
              (try? String(contentsOf: log, encoding: .utf8))?.range(of: "step [0-9]+/", options: .regularExpression) == nil {
            Thread.sleep(forTimeInterval: 0.2)
        }
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        try handle.close()
        let output = try String(contentsOf: log, encoding: .utf8)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("finished: stopped"), output)
        XCTAssertTrue(output.contains("saved last checkpoint"), output)
        let runs = try FileManager.default.contentsOfDirectory(atPath: ws.appendingPathComponent("runs").path)
        XCTAssertEqual(runs.count, 1, "\(runs)")
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: ws.appendingPathComponent("runs/\(runs[0])/last.safetensors").path), output)
    }
}
