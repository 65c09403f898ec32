// Error metrics of the parity fixtures, shared by the fixture tests and the Glia <-> PyTorch checks.
import GliaCore

/// The error metrics of fixtures/parity/README.md, computed in double on tensors in the fixture's
/// (PyTorch) layout.
public enum ParityMetric {
    /// max |a - b|.
    public static func maxAbs(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "parity: shape \(a.shape) vs \(b.shape)")
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) }
    }

    /// max |a - b| / max |b|.
    public static func maxAbsOverMaxRef(_ a: Tensor, _ ref: Tensor) -> Double {
        maxAbs(a, ref) / max(ref.scalars.reduce(0) { max($0, abs(Double($1))) }, 1e-300)
    }

    /// ||a - b|| / ||b||, L2 over the whole tensor.
    public static func relativeL2(_ a: Tensor, _ ref: Tensor) -> Double {
        precondition(a.shape == ref.shape, "parity: shape \(a.shape) vs \(ref.shape)")
        var diff = 0.0
        for (x, y) in zip(a.scalars, ref.scalars) { diff += (Double(x) - Double(y)) * (Double(x) - Double(y)) }
        return diff.squareRoot() / max(ref.squaredNorm.squareRoot(), 1e-300)
    }

    /// |a - b| / |b| for scalars.
    public static func relative(_ a: Double, _ ref: Double) -> Double { abs(a - ref) / max(abs(ref), 1e-300) }
}
