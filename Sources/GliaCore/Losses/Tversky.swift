// Tversky and focal Tversky losses over the whole batch (smoothing s = 1), as in the parity fixtures.
//
// Tversky index with alpha weighting false negatives and beta false positives:
//   TP = sum(p*y), FN = sum((1-p)*y), FP = sum(p*(1-y))
//   N = TP + s,  D = TP + alpha FN + beta FP + s,  TI = N / D
// Derivatives of the sums: dTP/dp_i = y_i, dFN/dp_i = -y_i, dFP/dp_i = 1 - y_i, so
//   dN/dp_i = y_i,  dD/dp_i = y_i (1 - alpha) + beta (1 - y_i)
//   dTI/dp_i = (y_i D - N dD/dp_i) / D^2
// Tversky loss:        L = 1 - TI,         dL/dp_i = -dTI/dp_i
// Focal Tversky loss:  L = (1 - TI)^gamma, dL/dp_i = -gamma (1 - TI)^(gamma - 1) dTI/dp_i
// At TI = 1 (a perfect prediction) the focal gradient is 0 (the loss is at its minimum; the
// formula's 0^(gamma-1) would be infinite for gamma < 1).
import Foundation

/// The Tversky index's weights and its value and per-element derivative on a batch.
struct TverskyIndex {
    let alpha: Double
    let beta: Double
    let smoothing: Double

    /// TI and dTI/dp for every element.
    func evaluate(_ p: Tensor, _ y: Tensor) -> (index: Double, gradient: (Double) -> Double) {
        let sums = OverlapSums(p, y)
        let n = sums.truePositive + smoothing
        let d = sums.truePositive + alpha * sums.falseNegative + beta * sums.falsePositive + smoothing
        let (alpha, beta) = (alpha, beta)
        return (n / d, { yi in (yi * d - n * (yi * (1 - alpha) + beta * (1 - yi))) / (d * d) })
    }
}

/// Tversky loss 1 - TI, alpha on false negatives (0.7) and beta on false positives (0.3).
public struct TverskyLoss: ProbabilityLoss {
    public var name: String { "tversky" }
    /// Weight of false negatives.
    public var alpha: Double
    /// Weight of false positives.
    public var beta: Double
    /// Added to numerator and denominator.
    public var smoothing: Double

    /// A Tversky loss; the defaults are the fixtures' (alpha 0.7 on FN, beta 0.3 on FP, s = 1).
    public init(alpha: Double = 0.7, beta: Double = 0.3, smoothing: Double = 1) {
        self.alpha = alpha
        self.beta = beta
        self.smoothing = smoothing
    }

    public func evaluate(probabilities p: Tensor, targets y: Tensor) throws -> LossResult {
        try validateProbabilityInputs(name, p, y)
        let ti = TverskyIndex(alpha: alpha, beta: beta, smoothing: smoothing).evaluate(p, y)
        let gradient = elementwiseGradient(p, y) { _, yi in -ti.gradient(yi) }
        return LossResult(value: Float(1 - ti.index), gradient: gradient)
    }
}

/// Focal Tversky loss (1 - TI)^gamma (Abraham & Khan 2019), the ResUNet's training loss.
public struct FocalTverskyLoss: ProbabilityLoss {
    public var name: String { "focal_tversky" }
    /// Weight of false negatives.
    public var alpha: Double
    /// Weight of false positives.
    public var beta: Double
    /// Focal exponent; below 1 it raises the loss of nearly-right predictions.
    public var gamma: Double
    /// Added to numerator and denominator.
    public var smoothing: Double

    /// A focal Tversky loss; the defaults are the fixtures' (alpha 0.7, beta 0.3, gamma 0.75, s = 1).
    public init(alpha: Double = 0.7, beta: Double = 0.3, gamma: Double = 0.75, smoothing: Double = 1) {
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.smoothing = smoothing
    }

    public func evaluate(probabilities p: Tensor, targets y: Tensor) throws -> LossResult {
        try validateProbabilityInputs(name, p, y)
        let ti = TverskyIndex(alpha: alpha, beta: beta, smoothing: smoothing).evaluate(p, y)
        let base = max(0, 1 - ti.index)
        let scale = base > 0 ? -gamma * pow(base, gamma - 1) : 0
        let gradient = elementwiseGradient(p, y) { _, yi in scale * ti.gradient(yi) }
        return LossResult(value: Float(pow(base, gamma)), gradient: gradient)
    }
}
