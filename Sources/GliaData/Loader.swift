// Loader: training batches, decoded and augmented on background threads while the model trains.
//
// Output per batch: images [N, 256, 256, 3] (NHWC, normalised as configured), masks
// [N, 256, 256, 1] holding 0 or 1, labels (1 = the augmented mask has tumor), and the slices.
//
// Determinism: an epoch's batches are fixed by (seed, epoch) alone (`plan(epoch:)`), and each
// sample's augmentation by (seed, epoch, batch, position), so thread timing never changes what
// comes out, and an epoch can be resumed at any batch. Workers build whole batches; `next()` hands
// them out in order, with at most `prefetch` batches built ahead of the consumer.
//
// Oversampling: with `tumorFraction` f, each batch holds round(f x size) tumor slices drawn from a
// reshuffled stream of the tumor slices (cycling when they run out), the rest from the healthy ones;
// the epoch keeps its usual number of batches.
import Foundation
import GliaCore

/// How the loader draws, augments and normalises batches.
public struct LoaderConfiguration: Sendable, Equatable {
    public var batchSize: Int
    /// Shuffle each epoch (training); false keeps index order (evaluation).
    public var shuffle: Bool
    /// nil: no augmentation (evaluation).
    public var augmentation: AugmentationConfiguration?
    public var normalization: Normalization
    public var seed: UInt64
    /// Fraction of each batch drawn from tumor slices; nil: draw slices as they come. Applies
    /// only when shuffling (evaluation order is never resampled).
    public var tumorFraction: Double?
    /// Bound of the decoded-slice cache. The default (1100 MB) holds the whole real dataset
    /// (3929 slices x 256 KiB).
    public var cacheMegabytes: Int
    /// Batches built ahead of the consumer.
    public var prefetch: Int
    /// Background threads building batches.
    public var workers: Int
    /// Drop a last, smaller batch.
    public var dropLast: Bool

    public init(batchSize: Int = 16, shuffle: Bool = true, augmentation: AugmentationConfiguration? = .standard,
                normalization: Normalization = .unitRange, seed: UInt64 = 0, tumorFraction: Double? = nil,
                cacheMegabytes: Int = 1100, prefetch: Int = 4, workers: Int = ParallelConfig.workerCount,
                dropLast: Bool = false) {
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.augmentation = augmentation
        self.normalization = normalization
        self.seed = seed
        self.tumorFraction = tumorFraction
        self.cacheMegabytes = cacheMegabytes
        self.prefetch = prefetch
        self.workers = workers
        self.dropLast = dropLast
    }

    /// Evaluation: index order, no augmentation, no oversampling.
    public static func evaluation(batchSize: Int = 16, normalization: Normalization = .unitRange) -> LoaderConfiguration {
        LoaderConfiguration(batchSize: batchSize, shuffle: false, augmentation: nil, normalization: normalization)
    }
}

/// One batch of training data.
public struct Batch: Sendable {
    /// [N, 256, 256, 3], normalised.
    public var images: Tensor
    /// [N, 256, 256, 1], 0 or 1.
    public var masks: Tensor
    /// Per sample: 1 when its (augmented) mask has tumor, else 0.
    public var labels: [Int]
    /// The slices, in batch order.
    public var slices: [SliceRecord]
    public var epoch: Int
    /// Position of the batch within its epoch.
    public var index: Int
}

/// Produces batches from a list of slices.
public final class Loader: Sendable {
    public let records: [SliceRecord]
    /// Per record: whether its mask has tumor (for oversampling).
    public let tumorFlags: [Bool]
    public let configuration: LoaderConfiguration
    /// Decoded slices (UInt8), shared by all epochs; key = slice id.
    public let cache: LRUCache<String, DecodedSlice>

    /// A decoded slice as kept in the cache.
    public struct DecodedSlice: Sendable {
        public var image: SliceImage
        public var mask: SliceMask
    }

    /// Slices of the index left out because their image or mask does not decode, one problem each
    /// naming the file: a damaged slice costs that slice, not the run.
    public let skipped: [DataProblem]

    /// A loader over `records` with known tumor flags (aligned).
    public convenience init(records: [SliceRecord], tumorFlags: [Bool], configuration: LoaderConfiguration) {
        self.init(records: records, tumorFlags: tumorFlags, configuration: configuration,
                  cache: LRUCache(capacity: configuration.cacheMegabytes * 1_048_576), skipped: [])
    }

    private init(records: [SliceRecord], tumorFlags: [Bool], configuration: LoaderConfiguration,
                 cache: LRUCache<String, DecodedSlice>, skipped: [DataProblem]) {
        precondition(records.count == tumorFlags.count, "one tumor flag per record")
        precondition(configuration.batchSize > 0, "batch size must be positive")
        self.records = records
        self.tumorFlags = tumorFlags
        self.configuration = configuration
        self.cache = cache
        self.skipped = skipped
    }

    /// A loader over the usable slices of `index` (all, or one part of `split`); tumor flags come
    /// from the index's mask scan.
    public convenience init(index: DatasetIndex, split: DatasetSplit? = nil, part: DatasetSplit.Part = .train,
                            configuration: LoaderConfiguration) {
        let scan = index.maskScan()
        let members = split.map { Set($0.patients(part)) }
        let maskErrors = Dictionary(scan.problems.filter { $0.severity == .error }.map { ($0.path, $0.detail) },
                                    uniquingKeysWith: { first, _ in first })
        var candidates: [SliceRecord] = []
        var flags: [Bool] = []
        var skipped: [DataProblem] = []
        for (i, r) in index.slices.enumerated() where r.isUsable {
            if let members, !members.contains(r.patientID) { continue }
            guard let area = scan.areas[i] else {
                let path = r.maskURL?.path ?? r.imageURL.path
                skipped.append(DataProblem(.unreadableTIFF, .error, path: path, detail: maskErrors[path] ?? "mask does not decode"))
                continue
            }
            candidates.append(r)
            flags.append(area > 0)
        }
        // Indexing reads headers only, so a truncated image would first fail in the middle of an
        // epoch. Decoding every image once here leaves those out up front; the decoded slices fill
        // the cache that the first epoch would fill anyway.
        let cache = LRUCache<String, DecodedSlice>(capacity: configuration.cacheMegabytes * 1_048_576)
        let failures = concurrentMap(candidates.count) { k -> DataProblem? in
            do {
                _ = try Self.decode(candidates[k], cache: cache)
                return nil
            } catch {
                return DataProblem(.unreadableTIFF, .error, path: candidates[k].imageURL.path,
                                   detail: (error as? TIFFError)?.message ?? "\(error)")
            }
        }
        let kept = failures.indices.filter { failures[$0] == nil }
        self.init(records: kept.map { candidates[$0] }, tumorFlags: kept.map { flags[$0] }, configuration: configuration,
                  cache: cache, skipped: skipped + failures.compactMap { $0 })
    }

    /// Batches per epoch.
    public var batchCount: Int {
        let b = configuration.batchSize
        return configuration.dropLast ? records.count / b : (records.count + b - 1) / b
    }

    /// The record indices of every batch of `epoch`; a pure function of (seed, epoch).
    public func plan(epoch: Int) -> [[Int]] {
        let b = configuration.batchSize
        let sizes = (0..<batchCount).map { min(b, records.count - $0 * b) }
        var rng = RandomGenerator(seed: configuration.seed ^ (UInt64(epoch + 1) &* 0xA24B_AED4_963E_E407))
        guard let fraction = configuration.tumorFraction, configuration.shuffle else {
            var order = Array(records.indices)
            if configuration.shuffle { order.shuffle(using: &rng) }
            var start = 0
            return sizes.map { size in defer { start += size }; return Array(order[start..<start + size]) }
        }
        var tumor = Stream(records.indices.filter { tumorFlags[$0] }, rng: rng.fork(1))
        var healthy = Stream(records.indices.filter { !tumorFlags[$0] }, rng: rng.fork(2))
        return sizes.map { size in
            var k = Int((fraction * Double(size)).rounded())
            if tumor.isEmpty { k = 0 } else if healthy.isEmpty { k = size }
            var members = (0..<k).map { _ in tumor.next() } + (0..<(size - k)).map { _ in healthy.next() }
            members.shuffle(using: &rng)
            return members
        }
    }

    /// A cycling, reshuffled-per-cycle stream of indices.
    private struct Stream {
        var items: [Int]
        var rng: RandomGenerator
        var position: Int
        init(_ items: [Int], rng: RandomGenerator) {
            self.items = items
            self.rng = rng
            position = items.count
        }
        var isEmpty: Bool { items.isEmpty }
        mutating func next() -> Int {
            if position == items.count {
                items.shuffle(using: &rng)
                position = 0
            }
            defer { position += 1 }
            return items[position]
        }
    }

    /// Decodes (or takes from the cache) one record at 256x256.
    public func decoded(_ i: Int) throws -> DecodedSlice {
        try Self.decode(records[i], cache: cache)
    }

    private static func decode(_ record: SliceRecord, cache: LRUCache<String, DecodedSlice>) throws -> DecodedSlice {
        if let hit = cache.value(for: record.id) { return hit }
        guard let maskURL = record.maskURL else {
            throw DatasetError(path: record.imageURL.path, message: "slice has no mask")
        }
        let slice = DecodedSlice(image: try TIFFImage.readImage(record.imageURL).value,
                                 mask: try TIFFImage.readMask(maskURL).value)
        cache.insert(slice, for: record.id, cost: slice.image.pixels.count + slice.mask.pixels.count)
        return slice
    }

    /// Builds batch `index` of `epoch` on the calling thread (the workers call this).
    public func makeBatch(epoch: Int, index: Int, members: [Int]) throws -> Batch {
        let side = TIFFImage.sliceSide
        let n = members.count
        var images = Tensor(shape: [n, side, side, 3])
        var masks = Tensor(shape: [n, side, side, 1])
        var labels = [Int](repeating: 0, count: n)
        let imageStride = side * side * 3, maskStride = side * side
        for (position, record) in members.enumerated() {
            let slice = try decoded(record)
            var (image, mask) = (slice.image, slice.mask)
            if let config = configuration.augmentation {
                var rng = RandomGenerator(seed: configuration.seed
                    ^ (UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15)
                    ^ (UInt64(index + 1) &* 0xC2B2_AE3D_27D4_EB4F)
                    ^ (UInt64(position + 1) &* 0x1656_67B1_9E37_79F9))
                (image, mask) = Augmentation.apply(.draw(config, using: &rng), image: image, mask: mask)
            }
            images.scalars.withUnsafeMutableBufferPointer { all in
                configuration.normalization.write(image, into: UnsafeMutableBufferPointer(rebasing: all[(position * imageStride)..<((position + 1) * imageStride)]))
            }
            var any = false
            masks.scalars.withUnsafeMutableBufferPointer { all in
                mask.pixels.withUnsafeBufferPointer { m in
                    for i in 0..<maskStride {
                        all[position * maskStride + i] = Float(m[i])
                        any = any || m[i] != 0
                    }
                }
            }
            labels[position] = any ? 1 : 0
        }
        return Batch(images: images, masks: masks, labels: labels, slices: members.map { records[$0] },
                     epoch: epoch, index: index)
    }

    /// The batches of `epoch` from batch `start` on, built in the background.
    public func batches(epoch: Int, startingAt start: Int = 0) -> LoaderEpoch {
        LoaderEpoch(loader: self, epoch: epoch, plan: plan(epoch: epoch), start: start)
    }
}
