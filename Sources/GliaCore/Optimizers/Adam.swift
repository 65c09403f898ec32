// Adam (Kingma & Ba) with torch.optim.Adam's exact arithmetic, and AdamW's decoupled weight decay.
//
// Per parameter, with step t (counted per parameter, from 1), gradient g and value p:
//   Adam:   g <- g + wd p                     (L2 penalty added to the gradient)
//   AdamW:  p <- p (1 - lr wd)                (decay applied to the weights directly)
//   m <- m + (1 - b1)(g - m)                  (PyTorch's lerp form of b1 m + (1 - b1) g)
//   v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Scalars are computed in double (as Python does), elementwise work in float (as PyTorch's CPU
// kernels do). State slots: exp_avg (m), exp_avg_sq (v), step ([1]).
import Foundation

/// Adam / AdamW with PyTorch semantics.
public final class Adam: Optimizer {
    public var learningRate: Float
    /// Decay rate of the first moment.
    public let beta1: Double
    /// Decay rate of the second moment.
    public let beta2: Double
    /// Added to the denominator.
    public let epsilon: Double
    /// L2 penalty (Adam) or decoupled decay rate (AdamW).
    public let weightDecay: Double
    /// True for AdamW's decoupled weight decay.
    public let decoupledWeightDecay: Bool

    private struct Moments {
        var m: [Float]
        var v: [Float]
        var step: Int
    }

    private var state: [String: Moments] = [:]

    /// Adam with PyTorch's defaults; `decoupledWeightDecay` makes it AdamW.
    public init(learningRate: Float = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0, decoupledWeightDecay: Bool = false) throws {
        try require(learningRate >= 0, "learning rate", Double(learningRate), ">= 0")
        try require(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)")
        try require(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)")
        try require(epsilon >= 0, "epsilon", epsilon, ">= 0")
        try require(weightDecay >= 0, "weight decay", weightDecay, ">= 0")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    public func step(_ parameters: [Parameter]) {
        let lr = Double(learningRate)
        for p in parameters where !p.isFrozen {
            // Taken out of the dictionary so the moment arrays are uniquely owned and updated in place.
            var s = state.removeValue(forKey: p.name) ?? Moments(m: [Float](repeating: 0, count: p.value.count),
                                             v: [Float](repeating: 0, count: p.value.count), step: 0)
            s.step += 1
            let t = Double(s.step)
            let stepSize = Float(lr / (1 - pow(beta1, t)))
            let correction2Sqrt = Float((1 - pow(beta2, t)).squareRoot())
            let (oneMinusB1, b2, oneMinusB2) = (Float(1 - beta1), Float(beta2), Float(1 - beta2))
            let (eps, l2) = (Float(epsilon), decoupledWeightDecay ? 0 : Float(weightDecay))
            let decay = decoupledWeightDecay ? Float(1 - lr * weightDecay) : 1
            let grad = p.grad
            p.value.scalars.withUnsafeMutableBufferPointer { w in
                grad.scalars.withUnsafeBufferPointer { g in
                    s.m.withUnsafeMutableBufferPointer { m in
                        s.v.withUnsafeMutableBufferPointer { v in
                            for i in 0..<w.count {
                                let gi = g[i] + l2 * w[i]
                                w[i] *= decay
                                m[i] += oneMinusB1 * (gi - m[i])
                                v[i] = v[i] * b2 + oneMinusB2 * gi * gi
                                w[i] -= stepSize * (m[i] / (v[i].squareRoot() / correction2Sqrt + eps))
                            }
                        }
                    }
                }
            }
            state[p.name] = s
        }
    }

    public func stateTensors(for parameters: [Parameter]) -> [String: Tensor] {
        var out = ["lr": Tensor(shape: [1], scalars: [learningRate])]
        for p in parameters {
            guard let s = state[p.name] else { continue }
            out["\(p.name).exp_avg"] = Tensor(shape: p.value.shape, scalars: s.m)
            out["\(p.name).exp_avg_sq"] = Tensor(shape: p.value.shape, scalars: s.v)
            out["\(p.name).step"] = Tensor(shape: [1], scalars: [Float(s.step)])
        }
        return out
    }

    public func loadState(_ tensors: [String: Tensor], for parameters: [Parameter]) throws {
        var reader = StateReader(tensors)
        var restored: [String: Moments] = [:]
        for p in parameters {
            guard let slots = try reader.slots(["exp_avg", "exp_avg_sq", "step"], scalar: ["step"], of: p) else { continue }
            restored[p.name] = Moments(m: slots["exp_avg"]!.scalars, v: slots["exp_avg_sq"]!.scalars,
                                       step: Int(slots["step"]!.scalars[0]))
        }
        try reader.checkAllUsed()
        state = restored
        if let lr = reader.learningRate { learningRate = lr }
    }
}
