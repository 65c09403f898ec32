// A convolution and the BatchNorm that follows it, folded into one convolution for inference.
//
// With running statistics, BatchNorm is per output channel o an affine map, so it moves into the
// convolution's weights and bias:
//   BN(conv(x))[o] = s[o]·(W[o]·x + b[o] − μ[o]) + β[o],  s[o] = γ[o] / √(σ²[o] + ε)
//                  = W'[o]·x + b'[o],  W'[o] = s[o]·W[o],  b'[o] = s[o]·(b[o] − μ[o]) + β[o]
// (b = 0 for a bias-free convolution). Folded inference makes one pass over the activation where
// the unfused layers made two (conv, then BN), and the ReLU or residual sum after it joins the same
// pass (ConvolutionEpilogue.swift).
//
// The folded tensors are computed on first use and kept while the six tensors they come from are
// unchanged: each Parameter and Buffer counts its changes (`version`), so an optimizer step, a
// checkpoint load or a training forward (which moves the running statistics) makes the next
// inference fold again. Training goes through the two layers unchanged.

/// `conv` followed by `bn`, with an inference forward through folded weights.
public final class ConvBatchNorm {
    /// The convolution, whose parameters stay the trained ones.
    public let conv: Conv2D
    /// The BatchNorm after it.
    public let bn: BatchNorm2D

    /// Folded weights `[Cout, k, k, Cin]` and bias `[Cout]`, with the versions they were made from.
    private struct Folded {
        let versions: [Int]
        let weight: Tensor
        let bias: Tensor
    }
    private var folded: Folded?

    /// Pairs a convolution with the BatchNorm over its output channels.
    public init(_ conv: Conv2D, _ bn: BatchNorm2D) {
        precondition(conv.outChannels == bn.channels,
                     "\(bn.weight.name): \(bn.channels) channels after \(conv.weight.name)'s \(conv.outChannels)")
        self.conv = conv
        self.bn = bn
    }

    /// BN(conv(x)) with running statistics, then `epilogue`, in one pass over the output. Keeps
    /// nothing, and drops what an earlier training forward of the two layers kept.
    public func inference(_ x: Tensor, then epilogue: ConvolutionEpilogue = .plain) -> Tensor {
        conv.forgetTrainingCache()
        bn.forgetTrainingCache()
        let current = foldedWeights()
        return conv.convolve(x, weights: current.weight, bias: current.bias, then: epilogue,
                             mode: .inference, key: [1] + current.versions)
    }

    /// The change counts of every tensor the folded ones depend on.
    private var sourceVersions: [Int] {
        [conv.weight.version, conv.bias?.version ?? -1, bn.weight.version, bn.bias.version,
         bn.runningMean.version, bn.runningVar.version]
    }

    /// The folded tensors, recomputed (in double, rounded once) when a source has changed.
    private func foldedWeights() -> Folded {
        let versions = sourceVersions
        if let folded, folded.versions == versions { return folded }
        let cout = conv.outChannels, perFilter = conv.weight.value.count / cout
        let gamma = bn.weight.value.scalars, beta = bn.bias.value.scalars
        let mean = bn.runningMean.value.scalars, variance = bn.runningVar.value.scalars
        let convBias = conv.bias?.value.scalars
        let eps = Double(bn.epsilon)
        let scale = (0..<cout).map { o in Double(gamma[o]) / (Double(variance[o]) + eps).squareRoot() }
        let weights = conv.weight.value.scalars
        let weight = Tensor(shape: conv.weight.value.shape) { i in Float(Double(weights[i]) * scale[i / perFilter]) }
        let bias = Tensor(shape: [cout]) { o in
            Float(scale[o] * (Double(convBias?[o] ?? 0) - Double(mean[o])) + Double(beta[o]))
        }
        let made = Folded(versions: versions, weight: weight, bias: bias)
        folded = made
        return made
    }
}
