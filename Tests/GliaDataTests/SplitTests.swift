// Patient-level splits: disjoint, complete, stratified, reproducible, saved and read back.
import Foundation
import GliaData
import XCTest

final class SplitTests: XCTestCase {
    /// 24 patients over five institutions, sized like the real sample (3, 10, 1, 3, 7).
    private let ids: [String] = {
        var out: [String] = []
        for (code, count) in [("CS", 3), ("DU", 10), ("EZ", 1), ("FG", 3), ("HT", 7)] {
            for i in 0..<count { out.append("TCGA_\(code)_\(1000 + i)_2000010\(i % 9)") }
        }
        return out
    }()

    func testNoPatientLandsInTwoPartsAndNoneIsLost() throws {
        for seed in UInt64(0)..<50 {
            let split = try DatasetSplit.make(patientIDs: ids, train: 0.7, validation: 0.15, test: 0.15, seed: seed)
            let all = split.train + split.validation + split.test
            XCTAssertEqual(all.count, Set(all).count, "seed \(seed): a patient is in two parts")
            XCTAssertEqual(Set(all), Set(ids), "seed \(seed): patients lost or invented")
            XCTAssertTrue(Set(split.train).isDisjoint(with: split.test))
            XCTAssertTrue(Set(split.validation).isDisjoint(with: split.test))
            XCTAssertTrue(Set(split.train).isDisjoint(with: split.validation))
            // Totals: 15 % of 24 = 3.6 -> 4 each for test and validation.
            XCTAssertEqual(split.test.count, 4)
            XCTAssertEqual(split.validation.count, 4)
        }
    }

    func testStratifiedByInstitution() throws {
        let split = try DatasetSplit.make(patientIDs: ids, train: 0.5, validation: 0.2, test: 0.3, seed: 3)
        func count(_ part: [String], _ code: String) -> Int { part.filter { Patient.institution(of: $0) == code }.count }
        // DU (10 patients) gives floor(3) or 3 + 1 to test, HT (7) at least floor(2.1) = 2.
        XCTAssertGreaterThanOrEqual(count(split.test, "DU"), 3)
        XCTAssertLessThanOrEqual(count(split.test, "DU"), 4)
        XCTAssertGreaterThanOrEqual(count(split.test, "HT"), 2)
        XCTAssertGreaterThanOrEqual(count(split.validation, "DU"), 2)
        XCTAssertEqual(split.part(of: split.test[0]), .test)
    }

    func testSameSeedSameSplitOtherSeedOtherSplit() throws {
        let a = try DatasetSplit.make(patientIDs: ids, train: 0.7, validation: 0.15, test: 0.15, seed: 42)
        let b = try DatasetSplit.make(patientIDs: ids.reversed(), train: 0.7, validation: 0.15, test: 0.15, seed: 42)
        XCTAssertEqual(a, b)
        let others = try (0..<10).map { try DatasetSplit.make(patientIDs: ids, train: 0.7, validation: 0.15, test: 0.15, seed: 100 + $0) }
        XCTAssertTrue(others.contains { $0.test != a.test })
    }

    func testWriteAndReadBack() throws {
        let url = try temporaryFolder(self).appendingPathComponent("split.json")
        let split = try DatasetSplit.make(patientIDs: ids, train: 0.8, validation: 0.1, test: 0.1, seed: 9)
        try split.write(to: url)
        XCTAssertEqual(try DatasetSplit.read(from: url), split)
        var bad = split
        bad.test.append(split.train[0])
        try bad.write(to: url)
        XCTAssertThrowsError(try DatasetSplit.read(from: url))
    }

    func testInvalidFractionsThrow() {
        XCTAssertThrowsError(try DatasetSplit.make(patientIDs: ids, train: 0.7, validation: 0.2, test: 0.2, seed: 0))
        XCTAssertThrowsError(try DatasetSplit.make(patientIDs: ids, train: 1.2, validation: -0.2, test: 0, seed: 0))
        XCTAssertThrowsError(try DatasetSplit.make(patientIDs: [], train: 1, validation: 0, test: 0, seed: 0))
    }

    func testSlicesOfAPartComeFromItsPatientsOnly() throws {
        let root = try temporaryFolder(self)
        for p in ["TCGA_CS_1_1", "TCGA_CS_2_1", "TCGA_DU_3_1", "TCGA_DU_4_1"] {
            for n in 1...2 { try writeSlice(root, p, n, tumor: n == 1) }
        }
        let index = try DatasetIndex.load(root)
        let split = try DatasetSplit.make(index, train: 0.5, validation: 0, test: 0.5, seed: 1)
        let train = split.slices(.train, in: index), test = split.slices(.test, in: index)
        XCTAssertEqual(train.count + test.count, 8)
        XCTAssertTrue(Set(train.map(\.patientID)).isDisjoint(with: Set(test.map(\.patientID))))
        XCTAssertEqual(Set(test.map { Patient.institution(of: $0.patientID) }), ["CS", "DU"])
    }
}
