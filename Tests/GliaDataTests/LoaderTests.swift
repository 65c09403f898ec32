// The loader: batch shapes and contents, determinism regardless of threads, resuming,
// oversampling, evaluation order.
import Foundation
import GliaCore
import GliaData
import XCTest

final class LoaderTests: XCTestCase {
    /// 3 patients x 6 slices; slices 2 and 3 of each have tumor (6 of 18).
    private func index() throws -> DatasetIndex {
        let root = try temporaryFolder(self)
        for p in ["TCGA_CS_1_1", "TCGA_DU_2_1", "TCGA_HT_3_1"] {
            for n in 1...6 { try writeSlice(root, p, n, tumor: n == 2 || n == 3) }
        }
        return try DatasetIndex.load(root)
    }

    private func drain(_ epoch: LoaderEpoch) throws -> [Batch] {
        var out: [Batch] = []
        while let b = try epoch.next() { out.append(b) }
        return out
    }

    func testBatchShapesLabelsAndMasks() throws {
        let loader = Loader(index: try index(), configuration: LoaderConfiguration(batchSize: 4, augmentation: nil, seed: 1))
        XCTAssertEqual(loader.batchCount, 5)
        let batches = try drain(loader.batches(epoch: 0))
        XCTAssertEqual(batches.map(\.labels.count), [4, 4, 4, 4, 2])
        let first = batches[0]
        XCTAssertEqual(first.images.shape, [4, 256, 256, 3])
        XCTAssertEqual(first.masks.shape, [4, 256, 256, 1])
        XCTAssertTrue(first.images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        for b in batches {
            for (i, slice) in b.slices.enumerated() {
                let tumor = slice.sliceNumber == 2 || slice.sliceNumber == 3
                XCTAssertEqual(b.labels[i], tumor ? 1 : 0)
                let area = b.masks.scalars[(i * 65536)..<((i + 1) * 65536)].reduce(0, +)
                XCTAssertEqual(area, tumor ? Float(50 * slice.sliceNumber) : 0)
                // Unaugmented pixel (x = 3, y = 1), channel 0 of the test pattern: (3*7 + 13) / 255.
                XCTAssertEqual(b.images.scalars[i * 196_608 + (256 + 3) * 3], Float(34) / 255, accuracy: 1e-6)
            }
        }
        XCTAssertEqual(Set(batches.flatMap(\.slices).map(\.id)).count, 18, "each slice once per epoch")
    }

    func testSameSeedSameBatchesWhateverTheThreads() throws {
        let idx = try index()
        func run(workers: Int, prefetch: Int) throws -> [Batch] {
            let config = LoaderConfiguration(batchSize: 5, seed: 77, prefetch: prefetch, workers: workers)
            return try drain(Loader(index: idx, configuration: config).batches(epoch: 3))
        }
        let a = try run(workers: 1, prefetch: 1), b = try run(workers: 3, prefetch: 4)
        XCTAssertEqual(a.map { $0.slices.map(\.id) }, b.map { $0.slices.map(\.id) })
        XCTAssertEqual(a.map(\.images), b.map(\.images))
        XCTAssertEqual(a.map(\.masks), b.map(\.masks))
        let other = try drain(Loader(index: idx, configuration: LoaderConfiguration(batchSize: 5, seed: 78)).batches(epoch: 3))
        XCTAssertNotEqual(a.map(\.images), other.map(\.images))
    }

    func testAsyncNextGivesTheSameBatches() async throws {
        let loader = Loader(index: try index(), configuration: LoaderConfiguration(batchSize: 8, seed: 3))
        let sync = try drain(loader.batches(epoch: 2))
        let epoch = loader.batches(epoch: 2)
        var async: [Batch] = []
        while let b = try await epoch.nextAsync() { async.append(b) }
        XCTAssertEqual(async.map(\.images), sync.map(\.images))
    }

    func testEpochsDifferAndResumeMatches() throws {
        let loader = Loader(index: try index(), configuration: LoaderConfiguration(batchSize: 4, seed: 5))
        XCTAssertNotEqual(loader.plan(epoch: 0), loader.plan(epoch: 1))
        XCTAssertEqual(loader.plan(epoch: 1), loader.plan(epoch: 1))
        let full = try drain(loader.batches(epoch: 1))
        let resumed = try drain(loader.batches(epoch: 1, startingAt: 2))
        XCTAssertEqual(resumed.map(\.index), [2, 3, 4])
        XCTAssertEqual(resumed.map(\.images), Array(full[2...]).map(\.images))
        XCTAssertEqual(resumed.map(\.labels), Array(full[2...]).map(\.labels))
    }

    func testOversamplingFillsTheTumorFraction() throws {
        let loader = Loader(index: try index(), configuration: LoaderConfiguration(batchSize: 6, augmentation: nil, seed: 2, tumorFraction: 0.5))
        let plan = loader.plan(epoch: 0)
        XCTAssertEqual(plan.count, 3)
        for batch in plan {
            XCTAssertEqual(batch.filter { loader.tumorFlags[$0] }.count, 3)
        }
        let labels = try drain(loader.batches(epoch: 0)).flatMap(\.labels)
        XCTAssertEqual(labels.reduce(0, +), 9)
    }

    func testEvaluationKeepsIndexOrderAndCancelStops() throws {
        let idx = try index()
        let loader = Loader(index: idx, configuration: .evaluation(batchSize: 7))
        let batches = try drain(loader.batches(epoch: 0))
        XCTAssertEqual(batches.flatMap(\.slices).map(\.id), idx.slices.map(\.id))
        let epoch = loader.batches(epoch: 1)
        XCTAssertNotNil(try epoch.next())
        epoch.cancel()
        XCTAssertNil(try epoch.next())
        XCTAssertGreaterThan(loader.cache.count, 0)
    }

    func testSplitPartOnly() throws {
        let idx = try index()
        let split = try DatasetSplit.make(idx, train: 2.0 / 3, validation: 0, test: 1.0 / 3, seed: 4)
        let loader = Loader(index: idx, split: split, part: .test, configuration: .evaluation())
        XCTAssertEqual(loader.records.count, 6)
        XCTAssertEqual(Set(loader.records.map(\.patientID)), Set(split.test))
    }

    func testUnreadableSliceIsLeftOutAndNamed() throws {
        let root = try temporaryFolder(self)
        try writeSlice(root, "TCGA_CS_1_1", 1, tumor: false)
        try writeSlice(root, "TCGA_CS_1_1", 2, tumor: false)
        let idx = try DatasetIndex.load(root)
        // Damage an image after indexing: the loader leaves it out and names it, never a blank slice.
        let damaged = idx.slices[0].imageURL
        try Data("gone".utf8).write(to: damaged)
        let loader = Loader(index: idx, configuration: .evaluation())
        XCTAssertEqual(loader.records.map(\.imageURL), [idx.slices[1].imageURL])
        XCTAssertEqual(loader.skipped.map(\.path), [damaged.path])
        XCTAssertEqual(loader.skipped.first?.kind, .unreadableTIFF)
        let batch = try XCTUnwrap(try loader.batches(epoch: 0).next())
        XCTAssertEqual(batch.slices.map(\.imageURL), [idx.slices[1].imageURL])
    }
}
