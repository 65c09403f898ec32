// Losses: shared result type, errors and the overlap sums of the mask losses.
//
// Conventions (match PyTorch and the parity fixtures described in shared/fixtures/parity/README.md):
// - Every loss returns one scalar for the whole batch (a mean or a batch-wide ratio), summed in
//   double and reported as Float, plus dLoss/dinput with the input's shape.
// - Mask losses take probabilities p (the sigmoid output, any shape) and targets y of the same shape
//   (0/1, soft values also work), flattened over the whole batch: no per-sample averaging.
// - Overlap sums: TP = sum(p*y), FN = sum((1-p)*y), FP = sum(p*(1-y)), smoothing s = 1.
import Foundation

/// A scalar loss with its gradient with respect to the loss input.
public struct LossResult: Sendable {
    /// The loss over the whole batch.
    public var value: Float
    /// dLoss/dinput, same shape as the input (logits or probabilities).
    public var gradient: Tensor

    /// A result from a value and its gradient.
    public init(value: Float, gradient: Tensor) {
        self.value = value
        self.gradient = gradient
    }
}

/// Why a loss could not be computed from its inputs.
public enum LossError: Error, Equatable, CustomStringConvertible {
    /// Input and target shapes differ.
    case shapeMismatch(loss: String, input: [Int], target: [Int])
    /// Logits are not [N, K] with N matching the label count.
    case labelCountMismatch(logits: [Int], labels: Int)
    /// A class label outside 0..<K.
    case labelOutOfRange(label: Int, index: Int, classes: Int)
    /// The input has no elements.
    case empty(loss: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(loss, input, target):
            return "\(loss): input shape \(input) does not match target shape \(target)"
        case let .labelCountMismatch(logits, labels):
            return "cross-entropy: logits \(logits) need shape [N, K] with N = \(labels) labels"
        case let .labelOutOfRange(label, index, classes):
            return "cross-entropy: label \(label) at index \(index) is outside 0..<\(classes)"
        case let .empty(loss):
            return "\(loss): empty input"
        }
    }
}

extension LossError: LocalizedError {
    public var errorDescription: String? { description }
}

/// A loss on probabilities and same-shaped targets (the segmentation losses).
public protocol ProbabilityLoss: Sendable {
    /// Short name for logs ("bce", "dice", "tversky", "focal_tversky").
    var name: String { get }
    /// The batch loss and dLoss/dp.
    func evaluate(probabilities: Tensor, targets: Tensor) throws -> LossResult
}

/// Batch-wide overlap sums of probabilities p against targets y, accumulated in double.
struct OverlapSums {
    /// sum(p*y)
    var truePositive = 0.0
    /// sum(p)
    var predicted = 0.0
    /// sum(y)
    var target = 0.0
    /// sum((1-p)*y) = sum(y) - sum(p*y)
    var falseNegative: Double { target - truePositive }
    /// sum(p*(1-y)) = sum(p) - sum(p*y)
    var falsePositive: Double { predicted - truePositive }

    init(_ p: Tensor, _ y: Tensor) {
        p.scalars.withUnsafeBufferPointer { pp in
            y.scalars.withUnsafeBufferPointer { yy in
                for i in 0..<pp.count {
                    let pi = Double(pp[i]), yi = Double(yy[i])
                    truePositive += pi * yi
                    predicted += pi
                    target += yi
                }
            }
        }
    }
}

/// Checks that a probability loss's inputs agree in shape and are not empty.
func validateProbabilityInputs(_ name: String, _ p: Tensor, _ y: Tensor) throws {
    guard p.shape == y.shape else { throw LossError.shapeMismatch(loss: name, input: p.shape, target: y.shape) }
    guard p.count > 0 else { throw LossError.empty(loss: name) }
}

/// Gradient tensor whose element i is `body(p_i, y_i)`.
func elementwiseGradient(_ p: Tensor, _ y: Tensor, _ body: (Double, Double) -> Double) -> Tensor {
    var g = Tensor(shape: p.shape)
    p.scalars.withUnsafeBufferPointer { pp in
        y.scalars.withUnsafeBufferPointer { yy in
            g.scalars.withUnsafeMutableBufferPointer { gg in
                for i in 0..<pp.count { gg[i] = Float(body(Double(pp[i]), Double(yy[i]))) }
            }
        }
    }
    return g
}
