// BatchNorm2D over NHWC activations, with PyTorch's conventions (see fixtures/parity/README.md).
//
// x is viewed as [M, C] with M = N*H*W rows. Per channel c, in training mode:
//   μ = Σx / M,  σ² = Σ(x − μ)² / M (biased),  x̂ = (x − μ) / √(σ² + ε),  y = γ·x̂ + β
//   running_mean ← (1 − m)·running_mean + m·μ
//   running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased),  num_batches_tracked += 1
// Inference uses the running statistics in place of μ and σ² and updates nothing.
//
// Backward (training), with S₁ = Σ dy, S₂ = Σ dy·x̂ over the M rows of a channel:
//   dγ += S₂,  dβ += S₁,  dx = γ/√(σ² + ε) · (dy − S₁/M − x̂·S₂/M)
//
// Sums run in float over short row blocks and in double across blocks (ChannelReduction.swift):
// a plain float sum over 10⁶ values drifts enough to flip downstream ReLUs. The loops over rows are
// eight channels at a time (BatchNormKernels.swift).

/// Batch normalisation over the channel (last) axis of NHWC activations.
public final class BatchNorm2D: Layer {
    /// Number of channels (the last axis).
    public let channels: Int
    /// Weight of the running-statistics update (PyTorch `momentum`, 0.1 by default).
    public let momentum: Float
    /// Added to the variance before the square root (PyTorch `eps`).
    public let epsilon: Float
    /// γ `[C]`, "\(name).weight", initialised to 1.
    public let weight: Parameter
    /// β `[C]`, "\(name).bias", initialised to 0.
    public let bias: Parameter
    /// Running mean `[C]`, "\(name).running_mean", initialised to 0.
    public let runningMean: Buffer
    /// Running (unbiased) variance `[C]`, "\(name).running_var", initialised to 1.
    public let runningVar: Buffer
    /// Training forwards so far `[1]`, "\(name).num_batches_tracked" (int64 in PyTorch).
    public let numBatchesTracked: Buffer

    private struct Cache {
        let x: Tensor
        let mean: [Float]
        let invStd: [Float]
    }
    private var cache: Cache?

    /// Trainable tensors: weight, then bias (if any).
    public var parameters: [Parameter] { [weight, bias] }
    /// running_mean, running_var, num_batches_tracked, in PyTorch's order.
    public var buffers: [Buffer] { [runningMean, runningVar, numBatchesTracked] }

    /// γ = 1, β = 0, running mean 0, running variance 1, as a fresh PyTorch BatchNorm2d.
    public init(name: String, channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        precondition(channels > 0, "\(name): channels must be positive")
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        weight = Parameter(name: "\(name).weight", value: Tensor(shape: [channels], repeating: 1))
        bias = Parameter(name: "\(name).bias", value: Tensor(shape: [channels]))
        runningMean = Buffer(name: "\(name).running_mean", value: Tensor(shape: [channels]))
        runningVar = Buffer(name: "\(name).running_var", value: Tensor(shape: [channels], repeating: 1))
        numBatchesTracked = Buffer(name: "\(name).num_batches_tracked", value: Tensor(shape: [1]), isInteger: true)
    }

    /// Normalises `x` `[N, H, W, C]` with batch statistics (training) or running statistics (inference).
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        precondition(x.rank >= 2 && x.shape.last == channels,
                     "\(weight.name): input \(x.shape) does not end in \(channels) channels")
        let rows = x.count / channels
        var mean = [Float](repeating: 0, count: channels)
        var invStd = [Float](repeating: 0, count: channels)
        switch mode {
        case .training:
            precondition(rows > 1, "\(weight.name): training needs more than one value per channel, got \(x.shape)")
            let (mu, variance) = x.scalars.withUnsafeBufferPointer { batchStatistics($0.baseAddress!, rows: rows) }
            let m = Double(momentum)
            for c in 0..<channels {
                mean[c] = Float(mu[c])
                invStd[c] = Float(1 / (variance[c] + Double(epsilon)).squareRoot())
                let unbiased = variance[c] * Double(rows) / Double(rows - 1)
                runningMean.value.scalars[c] = Float((1 - m) * Double(runningMean.value.scalars[c]) + m * mu[c])
                runningVar.value.scalars[c] = Float((1 - m) * Double(runningVar.value.scalars[c]) + m * unbiased)
            }
            numBatchesTracked.value.scalars[0] += 1
            cache = Cache(x: x, mean: mean, invStd: invStd)
        case .inference:
            for c in 0..<channels {
                mean[c] = runningMean.value.scalars[c]
                invStd[c] = Float(1 / (Double(runningVar.value.scalars[c]) + Double(epsilon)).squareRoot())
            }
            cache = nil
        }
        // y = x·scale + shift with scale = γ/√(σ²+ε), shift = β − μ·scale.
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            scale[c] = weight.value.scalars[c] * invStd[c]
            shift[c] = bias.value.scalars[c] - mean[c] * scale[c]
        }
        let cc = channels
        return x.scalars.withUnsafeBufferPointer { xp in
            scale.withUnsafeBufferPointer { sp in
                shift.withUnsafeBufferPointer { tp in
                    Tensor(shape: x.shape, fillingUninitialized: { ys in
                        let xs = xp.baseAddress!, s = sp.baseAddress!, t = tp.baseAddress!
                        parallelFor(rows, minimumChunk: max(1, 32768 / cc)) { part in
                            scaleAndShift(xs, scale: s, shift: t, rows: part, width: cc, into: ys)
                        }
                    })
                }
            }
        }
    }

    /// Drops what a training forward kept, for `ConvBatchNorm`, whose inference bypasses `forward`.
    func forgetTrainingCache() { cache = nil }

    /// Per-channel mean and biased variance of a `[rows, C]` matrix (two passes, double totals).
    private func batchStatistics(_ x: UnsafePointer<Float>, rows: Int) -> ([Double], [Double]) {
        let cc = channels
        let mean = channelSums(x, rows: rows, channels: cc).map { $0 / Double(rows) }
        let meanF = mean.map { Float($0) }
        let squares = meanF.withUnsafeBufferPointer { mp in
            let mu = mp.baseAddress!
            return reduceRows(rows: rows, width: cc) { range, block in
                addSquaredDeviations(x, mean: mu, rows: range, width: cc, into: block)
            }
        }
        // Σ(x − μ_f)² = M·σ² + M·(μ − μ_f)²: remove the tiny offset of the float-rounded mean.
        let variance = (0..<cc).map { c -> Double in
            let offset = mean[c] - Double(meanF[c])
            return max(0, squares[c] / Double(rows) - offset * offset)
        }
        return (mean, variance)
    }

    /// Accumulates dγ, dβ (unless frozen) and returns dL/dx.
    public func backward(_ dy: Tensor) -> Tensor {
        let cache = trainingCache(self.cache, "BatchNorm2D \(weight.name)")
        precondition(dy.shape == cache.x.shape, "\(weight.name): dy \(dy.shape) vs input \(cache.x.shape)")
        let cc = channels, rows = dy.count / channels
        // sums[c] = S₁, sums[C + c] = Σ dy·(x − μ) = S₂·√(σ²+ε).
        let sums = dy.scalars.withUnsafeBufferPointer { dp in
            cache.x.scalars.withUnsafeBufferPointer { xp in
                cache.mean.withUnsafeBufferPointer { mp in
                    let d = dp.baseAddress!, xs = xp.baseAddress!, mu = mp.baseAddress!
                    return reduceRows(rows: rows, width: 2 * cc) { range, block in
                        addGradientSums(d, xs, mean: mu, rows: range, width: cc, into: block)
                    }
                }
            }
        }
        // dx = k·(dy − a) − k·b·(x − μ) with k = γ·invStd, a = S₁/M, b = S₂·invStd/M.
        var k = [Float](repeating: 0, count: cc), a = k, kb = k
        for c in 0..<cc {
            let inv = Double(cache.invStd[c])
            let s2 = sums[cc + c] * inv
            if !weight.isFrozen { weight.grad.scalars[c] += Float(s2) }
            if !bias.isFrozen { bias.grad.scalars[c] += Float(sums[c]) }
            let kc = Double(weight.value.scalars[c]) * inv
            k[c] = Float(kc)
            a[c] = Float(sums[c] / Double(rows))
            kb[c] = Float(kc * s2 * inv / Double(rows))
        }
        return dy.scalars.withUnsafeBufferPointer { dp in
            cache.x.scalars.withUnsafeBufferPointer { xp in
                k.withUnsafeBufferPointer { kp in a.withUnsafeBufferPointer { ap in
                    kb.withUnsafeBufferPointer { bp in cache.mean.withUnsafeBufferPointer { mp in
                        Tensor(shape: dy.shape, fillingUninitialized: { o in
                            let d = dp.baseAddress!, xs = xp.baseAddress!
                            let kk = kp.baseAddress!, aa = ap.baseAddress!, bb = bp.baseAddress!, mu = mp.baseAddress!
                            parallelFor(rows, minimumChunk: max(1, 32768 / cc)) { part in
                                batchNormInputGradient(d, xs, k: kk, a: aa, b: bb, mean: mu, rows: part, width: cc, into: o)
                            }
                        })
                    } }
                } }
            }
        }
    }
}
