// The real LGG sample (GLIA_SAMPLE_DATA): counts from SAMPLE.md, every file decoded, and pixel
// values of both encodings checked against values read once with Python's tifffile:
//   import tifffile; a = tifffile.imread(path); a[y, x]; a[:, :, c].sum(); ((i % 251) * a.ravel()).sum()
import Foundation
import GliaData
import GliaTestSupport
import XCTest

final class RealSampleTests: XCTestCase {
    private func sample() throws -> URL {
        guard let url = Fixtures.sampleData else { throw XCTSkip(Fixtures.skipMessage("GLIA_SAMPLE_DATA")) }
        return url
    }

    func testCountsMatchSAMPLEmdAndEveryFileDecodes() throws {
        let report = try DataCheck.run(try sample())
        XCTAssertEqual(report.format, "kaggle_3m")
        XCTAssertEqual(report.patients, 64)
        XCTAssertEqual(report.slices, 2396)
        XCTAssertEqual(report.usableSlices, 2396, "every image and mask decodes")
        XCTAssertEqual(report.tumorSlices, 852)
        XCTAssertEqual(report.patientsWithMetadata, 64)
        XCTAssertEqual(report.institutions, [
            InstitutionSummary(code: "CS", patients: 9, slices: 207, tumorSlices: 76),
            InstitutionSummary(code: "DU", patients: 26, slices: 1090, tumorSlices: 376),
            InstitutionSummary(code: "EZ", patients: 1, slices: 24, tumorSlices: 6),
            InstitutionSummary(code: "FG", patients: 8, slices: 377, tumorSlices: 121),
            InstitutionSummary(code: "HT", patients: 20, slices: 698, tumorSlices: 273),
        ])
        XCTAssertTrue(report.problems.isEmpty, "\(report.problems.prefix(5))")
    }

    private struct Known {
        var patient: String
        var slice: Int
        var compression: Int
        var channelSums: [Int]
        var positional: Int  // sum over flat index i of (i % 251) * value, all channels
        var pixels: [(x: Int, y: Int, rgb: [UInt8])]
        var maskArea: Int
        var maskPositional: Int
    }

    private let known = [
        Known(patient: "TCGA_HT_7692_19960724", slice: 20, compression: 1, channelSums: [611_683, 591_028, 760_463],
              positional: 245_204_968, pixels: [(128, 128, [25, 33, 137]), (100, 60, [3, 2, 2]), (30, 200, [0, 2, 1])],
              maskArea: 240, maskPositional: 23_292),
        Known(patient: "TCGA_CS_4941_19960909", slice: 12, compression: 8, channelSums: [2_697_983, 2_800_480, 2_805_852],
              positional: 1_039_799_002, pixels: [(128, 128, [34, 84, 42]), (100, 60, [44, 54, 62]), (30, 200, [4, 3, 1])],
              maskArea: 2646, maskPositional: 328_138),
    ]

    func testOriginalAndDeflatePixelsMatchTifffile() throws {
        let index = try DatasetIndex.load(try sample())
        for k in known {
            let record = try XCTUnwrap(index.patient(k.patient)?.slices.first { $0.sliceNumber == k.slice })
            XCTAssertEqual(record.imageHeader?.compression, k.compression)
            let image = try TIFFImage.readImage(record.imageURL)
            XCTAssertTrue(image.warnings.isEmpty && image.conversions.isEmpty)
            let px = image.value.pixels
            for c in 0..<3 {
                XCTAssertEqual(stride(from: c, to: px.count, by: 3).reduce(0) { $0 + Int(px[$1]) }, k.channelSums[c], k.patient)
            }
            XCTAssertEqual(px.indices.reduce(0) { $0 + ($1 % 251) * Int(px[$1]) }, k.positional, k.patient)
            for p in k.pixels {
                XCTAssertEqual((0..<3).map { image.value[p.x, p.y, $0] }, p.rgb, "\(k.patient) (\(p.x), \(p.y))")
            }
            let mask = try TIFFImage.readMask(try XCTUnwrap(record.maskURL)).value
            XCTAssertEqual(mask.area, k.maskArea)
            XCTAssertEqual(mask.pixels.indices.reduce(0) { $0 + ($1 % 251) * Int(mask.pixels[$1]) }, k.maskPositional)
        }
    }
}
