// LRUCache: a thread-safe least-recently-used cache bounded by a total cost (bytes). The loader
// keeps decoded slices here as UInt8 so that later epochs skip TIFF decoding.
import Synchronization

/// A thread-safe LRU cache bounded by the sum of its entries' costs.
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var cost: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var totalCost = 0
        var clock: UInt64 = 0
    }

    /// The bound on the sum of costs; inserting beyond it evicts least recently used entries.
    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The value for `key`, marking it recently used.
    public func value(for key: Key) -> Value? {
        state.withLock { s in
            guard var entry = s.entries[key] else { return nil }
            s.clock += 1
            entry.lastUse = s.clock
            s.entries[key] = entry
            return entry.value
        }
    }

    /// Stores `value` with its cost, evicting the least recently used entries to stay within
    /// `capacity`. An entry costing more than the whole capacity is not stored.
    public func insert(_ value: Value, for key: Key, cost: Int) {
        guard cost <= capacity else { return }
        state.withLock { s in
            s.clock += 1
            if let old = s.entries[key] { s.totalCost -= old.cost }
            s.entries[key] = Entry(value: value, cost: cost, lastUse: s.clock)
            s.totalCost += cost
            // Eviction scans for the oldest entry: O(n), but n is a few thousand slices and each
            // miss already costs a TIFF decode.
            while s.totalCost > capacity, let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                s.totalCost -= oldest.value.cost
                s.entries.removeValue(forKey: oldest.key)
            }
        }
    }

    /// Number of entries.
    public var count: Int { state.withLock { $0.entries.count } }
    /// Sum of the entries' costs.
    public var totalCost: Int { state.withLock { $0.totalCost } }
}
