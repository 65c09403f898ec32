// MaskScan: per-slice tumor area from decoding every mask. Indexing reads no pixels, but tumor
// counts, the browser's tumor column, the loader's oversampling and stratified summaries all need
// to know which slices have tumor; this one scan serves them all and runs once per index.
import Foundation
import Synchronization

/// Tumor area (mask pixels, at 256x256) of every slice of an index.
public struct MaskScan: Sendable {
    /// Aligned with `DatasetIndex.slices`: tumor pixel count, or nil when the slice has no
    /// readable mask.
    public var areas: [Int?]
    /// Masks that failed to decode (`unreadableTIFF`) or decoded with remarks (`decodeWarning`).
    public var problems: [DataProblem]

    /// Whether slice `i` (of `DatasetIndex.slices`) has tumor; nil when its mask is unreadable.
    public func isTumor(_ i: Int) -> Bool? { areas[i].map { $0 > 0 } }

    /// Number of slices whose mask has any tumor pixel.
    public var tumorCount: Int { areas.reduce(0) { $0 + (($1 ?? 0) > 0 ? 1 : 0) } }
    /// Number of slices whose mask decoded with no tumor pixel.
    public var healthyCount: Int { areas.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }
}

/// Holds an index's mask scan once computed; shared by copies of the index value.
final class MaskScanCache: Sendable {
    let scan = Mutex<MaskScan?>(nil)
}

extension DatasetIndex {
    /// Decodes every mask (in parallel) and returns the tumor area per slice. Computed on first
    /// call and kept for later calls on this index (and its copies).
    public func maskScan() -> MaskScan {
        if let done = scanCache.scan.withLock({ $0 }) { return done }
        let records = slices
        let results = concurrentMap(records.count) { i -> (Int?, [DataProblem]) in
            guard let url = records[i].maskURL, records[i].maskHeader != nil else { return (nil, []) }
            do {
                let decoded = try TIFFImage.readMask(url)
                let notes = decoded.warnings.map { DataProblem(.decodeWarning, .warning, path: url.path, detail: $0) }
                return (decoded.value.area, notes)
            } catch {
                return (nil, [DataProblem(.unreadableTIFF, .error, path: url.path,
                                          detail: (error as? TIFFError)?.message ?? "\(error)")])
            }
        }
        let scan = MaskScan(areas: results.map(\.0), problems: results.flatMap(\.1))
        scanCache.scan.withLock { $0 = scan }
        return scan
    }
}
