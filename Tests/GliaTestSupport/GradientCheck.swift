// Finite-difference gradient checks shared by every test target.
//
// Method: L(theta) is reduced to a scalar in double; each probed element is moved by +-epsilon and
// the central difference (L(+) - L(-)) / 2 epsilon is compared with the analytic gradient. Float32
// forward passes limit the accuracy to ~1e-3 relative, so the tolerances are loose enough for
// rounding and tight enough that a wrong formula (a missing term, a wrong sign, a transposed
// index) fails by orders of magnitude.
import GliaCore

/// Central-difference gradient checking.
public enum GradientCheck {
    /// Numerical gradient of `loss` with respect to the elements of `tensor` at `indices`.
    /// `tensor` is read and written through the two closures so any storage can be probed.
    public static func numericGradient(
        indices: [Int],
        get: (Int) -> Float,
        set: (Int, Float) -> Void,
        epsilon: Float = 1e-2,
        loss: () -> Double
    ) -> [Double] {
        indices.map { i in
            let original = get(i)
            set(i, original + epsilon)
            let plus = loss()
            set(i, original - epsilon)
            let minus = loss()
            set(i, original)
            return (plus - minus) / (2 * Double(epsilon))
        }
    }

    /// Relative error ||a - n|| / max(||a||, ||n||, floor) between analytic and numeric gradients.
    public static func relativeError(analytic: [Float], numeric: [Double], floor: Double = 1e-6) -> Double {
        precondition(analytic.count == numeric.count)
        var diff = 0.0, na = 0.0, nn = 0.0
        for (a, n) in zip(analytic, numeric) {
            diff += (Double(a) - n) * (Double(a) - n)
            na += Double(a) * Double(a)
            nn += n * n
        }
        return diff.squareRoot() / max(na.squareRoot(), nn.squareRoot(), floor)
    }

    /// Up to `limit` indices spread over `0..<count` (all of them when count <= limit), always
    /// including the first and last element, chosen reproducibly from `seed`.
    public static func probeIndices(count: Int, limit: Int = 40, seed: UInt64 = 7) -> [Int] {
        if count <= limit { return Array(0..<count) }
        var rng = RandomGenerator(seed: seed)
        var set: Set<Int> = [0, count - 1]
        while set.count < limit { set.insert(rng.nextInt(below: count)) }
        return set.sorted()
    }

    /// Scalar projection loss sum(y * r) in double: a fixed random direction r makes every output
    /// element matter with a different weight, so swapped or dropped elements are caught.
    public static func projection(_ y: Tensor, _ r: Tensor) -> Double {
        precondition(y.shape == r.shape, "projection: \(y.shape) vs \(r.shape)")
        var s = 0.0
        for i in 0..<y.count { s += Double(y.scalars[i]) * Double(r.scalars[i]) }
        return s
    }

    /// A tensor of standard-normal values, for inputs and projection directions.
    public static func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return Tensor(shape: shape) { _ in rng.nextNormal() * scale }
    }
}
