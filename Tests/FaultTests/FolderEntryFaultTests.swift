// Odd folder entries (issue 14 items 10 and 11): FIFOs named like slices or CSVs, names that are not
// UTF-8, symbolic link loops. Nothing blocks, and each is listed as a problem naming it.
import Foundation
import GliaData
import GliaTestSupport
import XCTest

final class FolderEntryFaultTests: XCTestCase {
    private var files: FaultFiles!
    private var data: URL!
    private var patient: URL!

    override func setUpWithError() throws {
        guard GliaProcess.executable != nil else { throw XCTSkip("glia executable not built") }
        files = try FaultFiles.make()
        data = files.url("data")
        let synth = try GliaProcess.run(["synth", "--out", data.path, "--patients", "2"])
        XCTAssertEqual(synth.status, 0, synth.errors)
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: data.path).sorted().first { $0.hasPrefix("SYN_") })
        patient = data.appendingPathComponent(name)
    }

    override func tearDown() { files?.remove() }

    private func fifo(_ url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        XCTAssertEqual(mkfifo(url.path, 0o644), 0, "mkfifo \(url.path)")
    }

    // Item 10: a FIFO named like a slice, in a folder, in a seed CSV, or as the CSV itself.
    func testFIFOsAreNamedInsteadOfBlocking() throws {
        let slice = patient.appendingPathComponent("\(patient.lastPathComponent)_3.tif")
        try fifo(slice)
        let check = try GliaProcess.run(["data", "check", data.path], timeout: 30)
        XCTAssertFalse(check.timedOut, "data check blocked on the FIFO")
        XCTAssertTrue(check.transcript.contains(slice.path) && check.transcript.contains("is a FIFO"), check.transcript)

        let show = try GliaProcess.run(["show", slice.path, "--width", "20"], timeout: 30)
        XCTAssertFalse(show.timedOut, "show blocked on the FIFO")
        XCTAssertNotEqual(show.status, 0)
        XCTAssertTrue(show.transcript.contains("is a FIFO, not a regular file"), show.transcript)

        let csv = data.appendingPathComponent("seed.csv")
        let relative = "\(patient.lastPathComponent)/\(slice.lastPathComponent)"
        let mask = relative.replacingOccurrences(of: ".tif", with: "_mask.tif")
        try "patient_id,image_path,mask_path,mask\n\(patient.lastPathComponent),\(relative),\(mask),0\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let seed = try GliaProcess.run(["data", "check", csv.path], timeout: 30)
        XCTAssertFalse(seed.timedOut, "data check blocked on the FIFO of a seed CSV row")
        XCTAssertTrue(seed.transcript.contains("is a FIFO"), seed.transcript)

        let fifoCSV = files.url("pipe.csv")
        try fifo(fifoCSV)
        let pipe = try GliaProcess.run(["data", "check", fifoCSV.path], timeout: 30)
        XCTAssertFalse(pipe.timedOut, "data check blocked on a FIFO given as the CSV")
        XCTAssertNotEqual(pipe.status, 0)
        XCTAssertTrue(pipe.transcript.contains("is a FIFO"), pipe.transcript)
    }

    // Item 11: a folder and a file whose names are not UTF-8, and a symbolic link loop, are listed.
    func testUnreadableNamesAndLinkLoopsAreListed() throws {
        let rawFolder = Array(data.path.utf8) + Array("/PAT".utf8) + [0xFF, 0]
        XCTAssertEqual(rawFolder.withUnsafeBufferPointer { mkdir(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 0o755) }, 0)
        let rawFile = Array(patient.path.utf8) + Array("/bad".utf8) + [0xFF, 0xFE] + Array("_3.tif".utf8) + [0]
        let fd = rawFile.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        let loop = patient.appendingPathComponent("loop_a.tif")
        try FileManager.default.createSymbolicLink(atPath: loop.path, withDestinationPath: "loop_b.tif")
        try FileManager.default.createSymbolicLink(atPath: patient.appendingPathComponent("loop_b.tif").path,
                                                   withDestinationPath: "loop_a.tif")
        let index = try DatasetIndex.load(data)
        let listed = index.problems.map { "\($0.path): \($0.detail)" }
        XCTAssertTrue(listed.contains { $0.hasPrefix(data.path + "/PAT\\xff:") && $0.contains("not valid UTF-8") }, "\(listed)")
        XCTAssertTrue(listed.contains { $0.hasPrefix(patient.path + "/bad\\xff\\xfe_3.tif:") && $0.contains("not valid UTF-8") }, "\(listed)")
        XCTAssertFalse(listed.contains { $0.contains("No such file") }, "\(listed)")
        XCTAssertTrue(listed.contains { $0.hasPrefix(loop.path) && $0.contains("symbolic link loop") }, "\(listed)")
        XCTAssertEqual(index.patients.count, 2, "the good patients are still read")
    }
}
