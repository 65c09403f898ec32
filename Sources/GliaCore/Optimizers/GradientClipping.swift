// Global gradient-norm clipping, torch.nn.utils.clip_grad_norm_ (2-norm).
//
//   total = sqrt(sum over parameters and elements of g^2)       (accumulated in double)
//   coef  = maxNorm / (total + 1e-6)
//   if coef < 1: g <- g * coef for every gradient
// Frozen parameters are left out, as PyTorch leaves out parameters without gradients. A non-finite
// total (NaN or infinite gradients) is returned as is and nothing is scaled, so the caller can see it
// and skip the step.

/// Scales all non-frozen gradients so their global 2-norm is at most `maxNorm`; returns the norm
/// before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    let live = parameters.filter { !$0.isFrozen }
    let total = Float(live.reduce(0.0) { $0 + $1.grad.squaredNorm }.squareRoot())
    guard total.isFinite else { return total }
    let coefficient = maxNorm / (total + 1e-6)
    if coefficient < 1 {
        for p in live {
            p.grad.scalars.withUnsafeMutableBufferPointer { g in
                for i in 0..<g.count { g[i] *= coefficient }
            }
        }
    }
    return total
}
