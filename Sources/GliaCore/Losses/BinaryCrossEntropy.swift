// Binary cross-entropy on probabilities, PyTorch's nn.BCELoss (reduction "mean").
//
// Forward, over all M elements of the batch, logs clamped at -100 as PyTorch does so p = 0 or 1
// gives a large finite loss instead of infinity:
//   L = -(1/M) sum_i [ y_i max(ln p_i, -100) + (1 - y_i) max(ln(1 - p_i), -100) ]
// Backward, PyTorch's formula (its denominator is clamped at 1e-12, which keeps p = 0 or 1 finite):
//   dL/dp_i = (p_i - y_i) / max(p_i (1 - p_i), 1e-12) / M
import Foundation

/// Mean binary cross-entropy between probabilities and targets of the same shape.
public struct BinaryCrossEntropy: ProbabilityLoss {
    public var name: String { "bce" }

    /// A BCE loss (mean over every element of the batch).
    public init() {}

    public func evaluate(probabilities p: Tensor, targets y: Tensor) throws -> LossResult {
        try validateProbabilityInputs(name, p, y)
        let m = Double(p.count)
        var total = 0.0
        p.scalars.withUnsafeBufferPointer { pp in
            y.scalars.withUnsafeBufferPointer { yy in
                for i in 0..<pp.count {
                    let pi = Double(pp[i]), yi = Double(yy[i])
                    total += yi * max(log(pi), -100) + (1 - yi) * max(log(1 - pi), -100)
                }
            }
        }
        let gradient = elementwiseGradient(p, y) { pi, yi in (pi - yi) / max(pi * (1 - pi), 1e-12) / m }
        return LossResult(value: Float(-total / m), gradient: gradient)
    }
}
