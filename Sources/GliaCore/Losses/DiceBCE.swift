// Soft Dice plus binary cross-entropy, the usual compound segmentation loss:
//   L = Dice(p, y) + BCE(p, y),   dL/dp = dDice/dp + dBCE/dp
// Dice alone gives little gradient to pixels far from any tumor early in training; the BCE term
// keeps every pixel's gradient alive while Dice keeps the small tumor class from being swamped.

/// Soft Dice loss (smoothing 1) plus mean binary cross-entropy.
public struct DiceBCELoss: ProbabilityLoss {
    public var name: String { "dice_bce" }
    private let dice = DiceLoss()
    private let bce = BinaryCrossEntropy()

    /// The compound loss with the parts' defaults.
    public init() {}

    public func evaluate(probabilities p: Tensor, targets y: Tensor) throws -> LossResult {
        let d = try dice.evaluate(probabilities: p, targets: y)
        let b = try bce.evaluate(probabilities: p, targets: y)
        var gradient = d.gradient
        gradient.add(b.gradient)
        return LossResult(value: d.value + b.value, gradient: gradient)
    }
}
