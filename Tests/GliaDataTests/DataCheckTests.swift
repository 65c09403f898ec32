// Every problem `glia data check` reports, each on a generated dataset, and the usable count.
import Foundation
import GliaData
import XCTest

final class DataCheckTests: XCTestCase {
    /// A kaggle-layout root with one good patient (3 slices, one tumor).
    private func goodRoot() throws -> URL {
        let root = try temporaryFolder(self)
        for n in 1...3 { try writeSlice(root, "TCGA_CS_0001_20000101", n, tumor: n == 2) }
        return root
    }

    private func problems(_ report: DataCheckReport, _ kind: DataProblem.Kind) -> [DataProblem] {
        report.problems.filter { $0.kind == kind }
    }

    func testCleanDatasetHasNoProblems() throws {
        let report = try DataCheck.run(try goodRoot())
        XCTAssertEqual(report.patients, 1)
        XCTAssertEqual(report.usableSlices, 3)
        XCTAssertEqual(report.tumorSlices, 1)
        XCTAssertEqual(report.healthySlices, 2)
        XCTAssertEqual(report.institutions, [InstitutionSummary(code: "CS", patients: 1, slices: 3, tumorSlices: 1)])
        XCTAssertTrue(report.problems.isEmpty)
        XCTAssertTrue(report.hasUsableData)
    }

    func testEveryFolderProblemIsReportedWithItsPath() throws {
        let root = try goodRoot()
        let p = "TCGA_DU_0002_20000101"
        let dir = root.appendingPathComponent(p)
        try writeSlice(root, p, 1, tumor: false)
        // Unreadable: not a TIFF at all.
        try writeSlice(root, p, 2, tumor: false)
        try Data("garbage".utf8).write(to: dir.appendingPathComponent("\(p)_2.tif"))
        // Truncated: the directory reads (indexing succeeds), the pixel data is gone (found by decoding).
        try writeSlice(root, p, 3, tumor: false)
        try writeSlice(root, p, 4, tumor: false)
        var cut = TinyTIFF(width: 256, height: 256, samplesPerPixel: 3, photometric: 2)
        cut.rowsPerStrip = 32
        cut.lastBlockMissing = true
        try cut.encode([UInt16](repeating: 50, count: 256 * 256 * 3)).write(to: dir.appendingPathComponent("\(p)_4.tif"))
        // Missing mask, mask without image, duplicate slice number, a stray file.
        try writeSlice(root, p, 5, tumor: false, mask: false)
        try writeSlice(root, p, 6, tumor: true)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("\(p)_6.tif"))
        try FileManager.default.copyItem(at: dir.appendingPathComponent("\(p)_1.tif"), to: dir.appendingPathComponent("\(p)_01.tif"))
        try Data().write(to: dir.appendingPathComponent("notes.txt"))
        // Size and channel mismatches: a 128x128 image with a 256x256 mask, a grayscale image.
        try writeSlice(root, p, 7, tumor: false)
        try TIFFImage.write(SliceImage(width: 128, height: 128, channels: 3, pixels: [UInt8](repeating: 9, count: 128 * 128 * 3)), to: dir.appendingPathComponent("\(p)_7.tif"))
        try writeSlice(root, p, 8, tumor: false)
        try TIFFImage.write(SliceImage(width: 256, height: 256, channels: 1, pixels: [UInt8](repeating: 9, count: 65536)), to: dir.appendingPathComponent("\(p)_8.tif"))
        // An empty patient folder.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("TCGA_EZ_0003_20000101"), withIntermediateDirectories: true)

        let report = try DataCheck.run(root)
        func paths(_ kind: DataProblem.Kind) -> [String] { problems(report, kind).map { URL(fileURLWithPath: $0.path).lastPathComponent } }
        XCTAssertEqual(Set(paths(.unreadableTIFF)), ["\(p)_2.tif", "\(p)_4.tif"])
        XCTAssertEqual(paths(.missingMask), ["\(p)_5.tif"])
        XCTAssertEqual(paths(.maskWithoutImage), ["\(p)_6_mask.tif"])
        XCTAssertEqual(paths(.duplicateSlice), ["\(p)_1.tif"])  // _01.tif sorts first and is used
        XCTAssertEqual(paths(.unexpectedFile), ["notes.txt"])
        XCTAssertEqual(Set(paths(.sizeMismatch)), ["\(p)_7.tif", "\(p)_7_mask.tif"])
        XCTAssertEqual(paths(.channelMismatch), ["\(p)_8.tif"])
        XCTAssertEqual(paths(.emptyFolder), ["TCGA_EZ_0003_20000101"])
        XCTAssertTrue(report.problems.allSatisfy { $0.path.hasPrefix(root.path) })
        // Usable: CS 1-3, DU 1 (as _01), 3, 7 (resized), 8 (converted); not 2, 4 (unreadable), 5 (no mask).
        XCTAssertEqual(report.slices, 3 + 7)
        XCTAssertEqual(report.usableSlices, 3 + 4)
        XCTAssertEqual(report.patients, 2)
        XCTAssertTrue(report.hasUsableData)
        XCTAssertEqual(report.errorCount, report.problems.filter { $0.severity == .error }.count)
        // Errors come first.
        XCTAssertEqual(report.problems.first?.severity, .error)
        XCTAssertEqual(report.problems.last?.severity, .warning)
    }

    func testSeedCSVRowsPointingAtMissingFiles() throws {
        let root = try goodRoot()
        let p = "TCGA_CS_0001_20000101"
        let csv = """
        patient_id,image_path,mask_path,mask
        \(p),\(p)/\(p)_1.tif,\(p)/\(p)_1_mask.tif,0
        \(p),\(p)/\(p)_9.tif,\(p)/\(p)_9_mask.tif,0
        \(p),\(p)/\(p)_2.tif,\(p)/gone_mask.tif,1
        \(p),\(p)/\(p)_3.tif
        """
        let url = root.appendingPathComponent("seed.csv")
        try csv.write(to: url, atomically: true, encoding: .utf8)
        let report = try DataCheck.run(url)
        XCTAssertEqual(report.format, "seed-csv")
        XCTAssertEqual(Set(problems(report, .missingFile).map { URL(fileURLWithPath: $0.path).lastPathComponent }),
                       ["\(p)_9.tif", "gone_mask.tif"])
        XCTAssertEqual(problems(report, .badCSV).count, 1)  // the short row, with its line number
        XCTAssertTrue(problems(report, .badCSV)[0].path.hasSuffix("seed.csv:5"))
        XCTAssertEqual(report.slices, 2)
        XCTAssertEqual(report.usableSlices, 1)
    }

    func testNothingUsableIsReportedAsSuch() throws {
        let root = try temporaryFolder(self)
        let p = "TCGA_HT_0004_20000101"
        try writeSlice(root, p, 1, tumor: false, mask: false)
        let report = try DataCheck.run(root)
        XCTAssertFalse(report.hasUsableData)
        XCTAssertEqual(problems(report, .missingMask).count, 1)
    }

    func testReportEncodesAsStableJSON() throws {
        let report = try DataCheck.run(try goodRoot())
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let object = try JSONSerialization.jsonObject(with: try encoder.encode(report)) as? [String: Any]
        XCTAssertEqual(object?["usableSlices"] as? Int, 3)
        XCTAssertNotNil(object?["institutions"] as? [[String: Any]])
        XCTAssertNotNil(object?["problems"] as? [Any])
    }
}
