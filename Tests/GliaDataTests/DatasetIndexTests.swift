// Indexing both source forms, CSV parsing and data.csv joining, on generated folders.
import Foundation
import GliaData
import XCTest

/// Writes slice `n` of `patient` into `root/patient/` (256x256; tumor when `tumor`).
func writeSlice(_ root: URL, _ patient: String, _ n: Int, tumor: Bool, mask: Bool = true) throws {
    let dir = root.appendingPathComponent(patient)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let image = SliceImage(width: 256, height: 256, channels: 3, pixels: pattern(width: 256, height: 256, channels: 3))
    try TIFFImage.write(image, to: dir.appendingPathComponent("\(patient)_\(n).tif"))
    if mask {
        var pixels = [UInt8](repeating: 0, count: 65536)
        if tumor { for i in 1000..<(1000 + 50 * n) { pixels[i] = 1 } }
        try TIFFImage.write(SliceMask(width: 256, height: 256, pixels: pixels), to: dir.appendingPathComponent("\(patient)_\(n)_mask.tif"))
    }
}

final class DatasetIndexTests: XCTestCase {
    func testCSVParsesQuotesCommasAndLineBreaks() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n\n3,,z"
        let rows = try CSV.parse(text)
        XCTAssertEqual(rows, [["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""], ["3", "", "z"]])
        XCTAssertThrowsError(try CSV.parse("a,\"open\n")) { XCTAssertTrue("\($0)".contains("never closed")) }
        XCTAssertThrowsError(try CSV.parse("a,b\"c\n"))
        XCTAssertEqual(try CSV.parse(CSV.format(rows)), rows)
    }

    func testKaggleLayoutNaturalOrderMetadataAndInstitutions() throws {
        let root = try temporaryFolder(self)
        for n in [10, 2, 1] { try writeSlice(root, "TCGA_CS_4941_19960909", n, tumor: n == 2) }
        for n in 1...3 { try writeSlice(root, "TCGA_DU_5852_19950709", n, tumor: false) }
        try """
        Patient,age,note
        TCGA_CS_4941,67,"glioma, grade 2"
        TCGA_XX_0000,50,no folder for this row
        """.write(to: root.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        try "notes".write(to: root.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)

        let index = try DatasetIndex.load(root)
        XCTAssertEqual(index.source, .kaggleLayout)
        XCTAssertEqual(index.patients.map(\.id), ["TCGA_CS_4941_19960909", "TCGA_DU_5852_19950709"])
        let cs = try XCTUnwrap(index.patient("TCGA_CS_4941_19960909"))
        XCTAssertEqual(cs.slices.map(\.sliceNumber), [1, 2, 10])
        XCTAssertEqual(cs.institution, "CS")
        XCTAssertEqual(cs.metadata["note"], "glioma, grade 2")
        XCTAssertEqual(index.patient("TCGA_DU_5852_19950709")?.metadata, [:])
        XCTAssertEqual(index.metadataColumns, ["Patient", "age", "note"])
        XCTAssertTrue(index.problems.isEmpty, "\(index.problems)")
        XCTAssertEqual(index.slices.count, 6)
        XCTAssertTrue(index.slices.allSatisfy { $0.isUsable && $0.imageHeader?.width == 256 })
        XCTAssertEqual(Set(index.institutions.keys), ["CS", "DU"])
        let scan = index.maskScan()
        XCTAssertEqual(scan.tumorCount, 1)
        XCTAssertEqual(scan.areas[1], 100)  // CS slice 2: 50 x 2 pixels
        XCTAssertEqual(scan.healthyCount, 5)
    }

    func testKaggleFolderNestedInDownloadFolder() throws {
        let top = try temporaryFolder(self)
        try writeSlice(top.appendingPathComponent("kaggle_3m"), "TCGA_HT_7692_19960724", 1, tumor: true)
        let index = try DatasetIndex.load(top)
        XCTAssertEqual(index.slices.count, 1)
    }

    func testFileNameParsing() {
        XCTAssertEqual(KaggleLayout.parse(fileName: "TCGA_CS_4941_19960909_12_mask.tif"),
                       .init(prefix: "TCGA_CS_4941_19960909", number: 12, isMask: true))
        XCTAssertEqual(KaggleLayout.parse(fileName: "P_7.TIFF")?.number, 7)
        XCTAssertNil(KaggleLayout.parse(fileName: "P_x.tif"))
        XCTAssertNil(KaggleLayout.parse(fileName: "P_3.png"))
        XCTAssertNil(KaggleLayout.parse(fileName: "nounderscore.tif"))
    }

    func testSeedCSVWithRelativePaths() throws {
        let root = try temporaryFolder(self)
        for n in [1, 2, 10] { try writeSlice(root.appendingPathComponent("images"), "TCGA_FG_7634_20000128", n, tumor: n == 10) }
        let p = "TCGA_FG_7634_20000128"
        var csv = "patient_id,image_path,mask_path,mask\n"
        for n in [10, 1, 2] { csv += "\(p),images/\(p)/\(p)_\(n).tif,images/\(p)/\(p)_\(n)_mask.tif,\(n == 10 ? 1 : 0)\n" }
        let csvURL = root.appendingPathComponent("seed.csv")
        try csv.write(to: csvURL, atomically: true, encoding: .utf8)
        for url in [csvURL, root] {
            let index = try DatasetIndex.load(url)
            XCTAssertEqual(index.source, .seedCSV(csvURL))
            XCTAssertEqual(index.patients.count, 1)
            XCTAssertEqual(index.slices.map(\.sliceNumber), [1, 2, 10])
            XCTAssertTrue(index.problems.isEmpty, "\(index.problems)")
            XCTAssertEqual(index.maskScan().tumorCount, 1)
        }
    }

    // Issue 14, item 6: a folder holding a seed CSV whose header has a byte-order mark or quotes is read
    // as that CSV, as the CSV given directly is, not as a kaggle layout.
    func testSeedCSVWithBOMOrQuotedHeaderIsFoundInItsFolder() throws {
        let p = "TCGA_FG_7634_20000128"
        for header in ["\u{FEFF}patient_id,image_path,mask_path,mask", "\"patient_id\",\"image_path\",\"mask_path\",\"mask\""] {
            let root = try temporaryFolder(self)
            for n in [1, 2] { try writeSlice(root.appendingPathComponent("images"), p, n, tumor: false) }
            var csv = header + "\n"
            for n in [1, 2] { csv += "\(p),images/\(p)/\(p)_\(n).tif,images/\(p)/\(p)_\(n)_mask.tif,0\n" }
            let csvURL = root.appendingPathComponent("seed.csv")
            try Data(csv.utf8).write(to: csvURL)
            for url in [csvURL, root] {
                let index = try DatasetIndex.load(url)
                XCTAssertEqual(index.source, .seedCSV(csvURL), header)
                XCTAssertEqual(index.slices.map(\.sliceNumber), [1, 2], header)
                XCTAssertTrue(index.problems.isEmpty, "\(header): \(index.problems)")
            }
        }
    }

    func testMissingPathAndEmptyRootThrow() throws {
        XCTAssertThrowsError(try DatasetIndex.load(URL(fileURLWithPath: "/nonexistent/glia")))
        XCTAssertThrowsError(try DatasetIndex.load(try temporaryFolder(self)))
    }
}
