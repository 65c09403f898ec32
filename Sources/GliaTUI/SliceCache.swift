// Recently decoded slices, so stepping back and forth through a volume never decodes twice.

/// A small least-recently-used cache of decoded slices (or the error decoding gave).
public struct SliceCache: Sendable {
    /// Most slices kept; a 256x256x3 slice with masks is about 330 KB.
    public let capacity: Int
    private var entries: [String: Result<LoadedSlice, SliceSourceError>] = [:]
    private var order: [String] = []

    /// An empty cache holding up to `capacity` slices.
    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// The key of a slice: `"<patient>#<number>"`.
    public static func key(patient: String, slice: Int) -> String { "\(patient)#\(slice)" }

    /// Whether the slice is held (decoded or failed).
    public func contains(patient: String, slice: Int) -> Bool { entries[Self.key(patient: patient, slice: slice)] != nil }

    /// The slice from the cache, or decoded from `source` (and kept) on a miss.
    public mutating func slice(patient: String, number: Int, from source: any SliceSource) -> Result<LoadedSlice, SliceSourceError> {
        let key = Self.key(patient: patient, slice: number)
        if let hit = entries[key] {
            order.removeAll { $0 == key }
            order.append(key)
            return hit
        }
        let result: Result<LoadedSlice, SliceSourceError>
        do {
            result = .success(try source.load(patient: patient, slice: number))
        } catch {
            result = .failure(SliceSourceError(description: "\(error)"))
        }
        entries[key] = result
        order.append(key)
        if order.count > capacity { entries[order.removeFirst()] = nil }
        return result
    }
}
