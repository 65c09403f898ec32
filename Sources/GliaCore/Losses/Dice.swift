// Soft Dice loss over the whole batch (smoothing s = 1), as in the parity fixtures.
//
// Forward, with TP = sum(p*y), P = sum(p), Y = sum(y):
//   A = 2 TP + s,  B = P + Y + s,  L = 1 - A / B
// Backward (dA/dp_i = 2 y_i, dB/dp_i = 1):
//   dL/dp_i = -(2 y_i B - A) / B^2
import Foundation

/// Soft Dice loss 1 - (2 TP + s) / (sum p + sum y + s), over the whole batch.
public struct DiceLoss: ProbabilityLoss {
    public var name: String { "dice" }
    /// Added to numerator and denominator; keeps empty masks defined.
    public var smoothing: Double

    /// A Dice loss with smoothing `s` (1 by default, as in the fixtures).
    public init(smoothing: Double = 1) {
        self.smoothing = smoothing
    }

    public func evaluate(probabilities p: Tensor, targets y: Tensor) throws -> LossResult {
        try validateProbabilityInputs(name, p, y)
        let sums = OverlapSums(p, y)
        let a = 2 * sums.truePositive + smoothing
        let b = sums.predicted + sums.target + smoothing
        let gradient = elementwiseGradient(p, y) { _, yi in -(2 * yi * b - a) / (b * b) }
        return LossResult(value: Float(1 - a / b), gradient: gradient)
    }
}
