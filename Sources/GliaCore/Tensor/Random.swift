// Random: the one seeded generator Glia uses everywhere (initialisation, dropout, shuffling,
// augmentation, phantom data). Same seed, same numbers, on every machine.
//
// Algorithm: xoshiro256** (Blackman & Vigna), seeded through SplitMix64 so that nearby seeds give
// unrelated streams. Its whole state is four UInt64 words, which checkpoints save so a resumed run
// continues the same stream.

/// A deterministic, seedable random number generator (xoshiro256**).
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The generator's complete state; restoring it restores the stream.
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose stream is fully determined by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator continuing from a saved state.
    public init(state: [UInt64]) {
        precondition(state.count == 4, "RandomGenerator state has 4 words, got \(state.count)")
        self.state = (state[0], state[1], state[2], state[3])
    }

    /// The state as four words, for saving.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// An independent generator derived from this one's next output and a label, so that
    /// components (say, augmentation and dropout) draw from separate but reproducible streams.
    public mutating func fork(_ label: UInt64 = 0) -> RandomGenerator {
        RandomGenerator(seed: next() ^ (label &* 0xD1B5_4A32_D192_ED03))
    }

    public mutating func next() -> UInt64 {
        @inline(__always) func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    /// Uniform float in [0, 1), 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform float in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUniform()
    }

    /// Standard normal sample (Box-Muller, computed in double).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1.0p-53, 0x1.0p-60)
        let u2 = Double(next() >> 11) * 0x1.0p-53
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<bound.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive, got \(bound)")
        return Int(next(upperBound: UInt64(bound)))
    }

    public static func == (a: RandomGenerator, b: RandomGenerator) -> Bool {
        a.stateWords == b.stateWords
    }

    public init(from decoder: Decoder) throws {
        let words = try decoder.singleValueContainer().decode([UInt64].self)
        guard words.count == 4 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "RandomGenerator state needs 4 words, got \(words.count)"))
        }
        self.init(state: words)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(stateWords)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
#endif
