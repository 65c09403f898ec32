// Split: patients (never slices) divided into train / validation / test, stratified by institution
// code, from fractions and a seed. Slices of one patient are strongly correlated, so a patient in
// two parts would leak; the split is a list of patient ids per part, saved as a small JSON file that
// a run keeps next to its checkpoints so its results can be reproduced.
//
// Allocation: each part's total is the largest-remainder rounding of fraction x patients; within
// that total every institution gets floor(fraction x its patients) and the leftover places go to
// the institutions with the largest remainders (ties broken by the seed). Patients are drawn from
// each institution's list shuffled by the seed. Test is drawn first, then validation, from what
// remains; train is the rest.
import Foundation
import GliaCore

/// A patient-level train / validation / test split.
public struct DatasetSplit: Sendable, Codable, Equatable {
    /// The three parts.
    public enum Part: String, Sendable, Codable, CaseIterable {
        case train, validation, test
    }

    /// The fractions asked for (train, validation, test), summing to 1.
    public var fractions: [Double]
    public var seed: UInt64
    /// Patient ids per part, each sorted.
    public var train: [String]
    public var validation: [String]
    public var test: [String]

    /// Patient ids of a part.
    public func patients(_ part: Part) -> [String] {
        switch part {
        case .train: train
        case .validation: validation
        case .test: test
        }
    }

    /// The part a patient belongs to, if any.
    public func part(of patientID: String) -> Part? {
        Part.allCases.first { patients($0).contains(patientID) }
    }

    /// Usable slices of a part, in index order.
    public func slices(_ part: Part, in index: DatasetIndex) -> [SliceRecord] {
        let members = Set(patients(part))
        return index.usableSlices.filter { members.contains($0.patientID) }
    }

    /// Splits `patientIDs` (institution = second `_` field) by the given fractions and seed.
    public static func make(patientIDs: [String], train: Double, validation: Double, test: Double,
                            seed: UInt64) throws -> DatasetSplit {
        let fractions = [train, validation, test]
        guard fractions.allSatisfy({ $0 >= 0 && $0.isFinite }), abs(fractions.reduce(0, +) - 1) < 1e-6 else {
            throw SplitError("fractions \(fractions) must be non-negative and sum to 1")
        }
        let ids = Array(Set(patientIDs)).sorted()
        guard !ids.isEmpty else { throw SplitError("no patients to split") }
        var rng = RandomGenerator(seed: seed)
        var pools: [String: [String]] = [:]
        for id in ids { pools[Patient.institution(of: id), default: []].append(id) }
        let codes = pools.keys.sorted()
        let sizes = pools.mapValues(\.count)
        for code in codes { pools[code]!.shuffle(using: &rng) }

        var parts: [Part: [String]] = [:]
        for (part, fraction) in [(Part.test, test), (.validation, validation)] {
            let total = Int((fraction * Double(ids.count)).rounded())
            let ideal = codes.map { fraction * Double(sizes[$0]!) }
            var take = codes.indices.map { min(pools[codes[$0]]!.count, Int(ideal[$0])) }
            let order = codes.indices.map { ($0, ideal[$0] - Double(Int(ideal[$0])), rng.nextUniform()) }
                .sorted { ($0.1, $0.2) > ($1.1, $1.2) }.map(\.0)
            var missing = total - take.reduce(0, +)
            var pass = 0
            while missing > 0 && pass < 2 {
                for c in order where missing > 0 && take[c] < pools[codes[c]]!.count {
                    take[c] += 1
                    missing -= 1
                }
                pass += 1
            }
            for (c, code) in codes.enumerated() {
                parts[part, default: []] += pools[code]!.prefix(take[c])
                pools[code]!.removeFirst(take[c])
            }
        }
        return DatasetSplit(fractions: fractions, seed: seed, train: pools.values.joined().sorted(),
                            validation: (parts[.validation] ?? []).sorted(), test: (parts[.test] ?? []).sorted())
    }

    /// Splits an index's patients.
    public static func make(_ index: DatasetIndex, train: Double, validation: Double, test: Double,
                            seed: UInt64) throws -> DatasetSplit {
        try make(patientIDs: index.patients.map(\.id), train: train, validation: validation, test: test, seed: seed)
    }

    /// Writes the split as JSON (sorted keys, stable across runs).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Reads a split written by `write(to:)`; rejects a file whose parts share a patient.
    public static func read(from url: URL) throws -> DatasetSplit {
        let split: DatasetSplit
        do { split = try JSONDecoder().decode(DatasetSplit.self, from: Foundation.Data(contentsOf: url)) } catch {
            throw SplitError("\(url.path): not a split file (\(error.localizedDescription))")
        }
        let all = split.train + split.validation + split.test
        guard Set(all).count == all.count else { throw SplitError("\(url.path): a patient appears in two parts") }
        return split
    }
}

/// A split that cannot be made or read.
public struct SplitError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
