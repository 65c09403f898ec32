// The phantom dataset: a valid kaggle_3m set, reproducible, and learnable (tumor bright in FLAIR,
// on a run of neighbouring slices, about a third of slices).
import Foundation
import GliaData
import XCTest

final class PhantomTests: XCTestCase {
    private let small = Phantom.Configuration(patients: 3, slices: 9...12, seed: 5)

    func testWrittenSetIndexesCleanly() throws {
        let root = try temporaryFolder(self).appendingPathComponent("phantom")
        let summary = try Phantom.write(to: root, configuration: small)
        let report = try DataCheck.run(root)
        XCTAssertTrue(report.problems.isEmpty, "\(report.problems)")
        XCTAssertEqual(report.patients, 3)
        XCTAssertEqual(report.usableSlices, summary.slices)
        XCTAssertEqual(report.tumorSlices, summary.tumorSlices)
        XCTAssertEqual(report.patientsWithMetadata, 3)
        XCTAssertEqual(report.institutions.map(\.code), ["PA", "PB", "PC"])
        XCTAssertThrowsError(try Phantom.write(to: root, configuration: small), "refuses a non-empty folder")
    }

    func testSameSeedSamePixelsOtherSeedOtherPixels() {
        let a = Phantom.render(patient: 1, configuration: small)
        let b = Phantom.render(patient: 1, configuration: small)
        XCTAssertEqual(a.map(\.0), b.map(\.0))
        XCTAssertEqual(a.map(\.1), b.map(\.1))
        var other = small
        other.seed = 6
        XCTAssertNotEqual(a.map(\.0.pixels), Phantom.render(patient: 1, configuration: other).map(\.0.pixels))
    }

    func testTumorsAreBrightInFLAIRContiguousAndAboutAThird() {
        var tumorSlices = 0, allSlices = 0
        for p in 0..<4 {
            let slices = Phantom.render(patient: p, configuration: .default)
            let flags = slices.map { $0.1.area > 0 }
            allSlices += flags.count
            tumorSlices += flags.filter { $0 }.count
            // One run of neighbouring tumor slices.
            let first = flags.firstIndex(of: true)!, last = flags.lastIndex(of: true)!
            XCTAssertTrue(flags[first...last].allSatisfy { $0 }, "patient \(p): \(flags)")
            for (image, mask) in slices where mask.area > 40 {
                var tumor = 0.0, brain = 0.0, brainCount = 0.0
                for i in 0..<mask.pixels.count {
                    let flair = Double(image.pixels[i * 3 + 1])
                    if mask.pixels[i] == 1 { tumor += flair } else if flair > 60 { brain += flair; brainCount += 1 }
                }
                XCTAssertGreaterThan(tumor / Double(mask.area), brain / brainCount + 60)
            }
        }
        let fraction = Double(tumorSlices) / Double(allSlices)
        XCTAssertTrue((0.22...0.45).contains(fraction), "tumor fraction \(fraction)")
    }

    func testDefaultDatasetIsCreatedOnceInTheCacheFolder() throws {
        let cache = try temporaryFolder(self)
        let previous = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"]
        setenv("XDG_CACHE_HOME", cache.path, 1)
        defer {
            if let previous { setenv("XDG_CACHE_HOME", previous, 1) } else { unsetenv("XDG_CACHE_HOME") }
        }
        let url = try Phantom.ensureDefaultDataset()
        XCTAssertEqual(url.deletingLastPathComponent().path, cache.appendingPathComponent("glia").path)
        let csv = url.appendingPathComponent("data.csv")
        let stamp = try FileManager.default.attributesOfItem(atPath: csv.path)[.modificationDate] as? Date
        XCTAssertEqual(try Phantom.ensureDefaultDataset().path, url.path)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: csv.path)[.modificationDate] as? Date, stamp)
        let index = try DatasetIndex.load(url)
        XCTAssertEqual(index.patients.count, Phantom.Configuration.default.patients)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("glia").path)
        XCTAssertEqual(leftovers, ["phantom-v1"], "no temporary folders left behind")
    }
}
