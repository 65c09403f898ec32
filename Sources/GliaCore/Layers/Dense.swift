// Dense (PyTorch Linear): x [N, in], weight W [out, in] (PyTorch's layout), bias b [out], y [N, out].
//
//   forward   y   = x · Wᵀ + b
//   backward  dW += dyᵀ · x,   db += Σ_rows dy,   dx = dy · W
//
// The GEMMs are small (a classifier head: 16 x 512 x 256) and run on the calling thread (OpenBLAS is
// held to one thread, BLAS.swift): woken, its worker threads would busy-wait ~0.1 s afterwards on the
// cores the next convolution needs.

/// A fully connected layer.
public final class Dense: Layer {
    /// Input and output widths.
    public let inFeatures: Int, outFeatures: Int
    /// `[out, in]`, "\(name).weight".
    public let weight: Parameter
    /// `[out]`, "\(name).bias".
    public let bias: Parameter
    private var input: Tensor?

    /// Trainable tensors: weight, then bias (if any).
    public var parameters: [Parameter] { [weight, bias] }

    /// Glorot-uniform weights; bias U(-1/√in, 1/√in) as PyTorch.
    public init(name: String, inFeatures: Int, outFeatures: Int, rng: inout RandomGenerator) {
        precondition(inFeatures > 0 && outFeatures > 0, "\(name): feature counts must be positive")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: "\(name).weight",
                           value: Initializer.glorot(shape: [outFeatures, inFeatures], fanIn: inFeatures,
                                                     fanOut: outFeatures, using: &rng))
        let bound = 1 / Float(inFeatures).squareRoot()
        bias = Parameter(name: "\(name).bias", value: Tensor(shape: [outFeatures]) { _ in rng.uniform(-bound, bound) })
    }

    /// `[N, in] -> [N, out]`.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == inFeatures,
                     "\(weight.name): input \(x.shape), expected [N, \(inFeatures)]")
        let n = x.shape[0]
        var y = Tensor(shape: [n, outFeatures])
        input = mode == .training ? x : nil
        if n == 0 { return y }
        x.scalars.withUnsafeBufferPointer { xp in
            weight.value.scalars.withUnsafeBufferPointer { wp in
                y.scalars.withUnsafeMutableBufferPointer { yp in
                    BLAS.gemm(transposeB: true, m: n, n: outFeatures, k: inFeatures,
                              a: xp.baseAddress!, lda: inFeatures, b: wp.baseAddress!, ldb: inFeatures,
                              c: yp.baseAddress!, ldc: outFeatures)
                }
            }
        }
        addRowVector(bias.value, to: &y)
        return y
    }

    /// Accumulates dW, db (unless frozen) and returns dL/dx `[N, in]`.
    public func backward(_ dy: Tensor) -> Tensor {
        let x = trainingCache(input, "Dense \(weight.name)")
        let n = x.shape[0]
        precondition(dy.shape == [n, outFeatures], "\(weight.name): dy \(dy.shape), expected [\(n), \(outFeatures)]")
        var dx = Tensor(shape: x.shape)
        if n == 0 { return dx }
        dy.scalars.withUnsafeBufferPointer { dp in
            let d = dp.baseAddress!
            if !weight.isFrozen {
                x.scalars.withUnsafeBufferPointer { xp in
                    weight.grad.scalars.withUnsafeMutableBufferPointer { gp in
                        BLAS.gemm(transposeA: true, m: outFeatures, n: inFeatures, k: n,
                                  a: d, lda: outFeatures, b: xp.baseAddress!, ldb: inFeatures, beta: 1,
                                  c: gp.baseAddress!, ldc: inFeatures)
                    }
                }
            }
            if !bias.isFrozen {
                let sums = channelSums(d, rows: n, channels: outFeatures)
                for o in 0..<outFeatures { bias.grad.scalars[o] += Float(sums[o]) }
            }
            weight.value.scalars.withUnsafeBufferPointer { wp in
                dx.scalars.withUnsafeMutableBufferPointer { xp in
                    BLAS.gemm(m: n, n: inFeatures, k: outFeatures, a: d, lda: outFeatures,
                              b: wp.baseAddress!, ldb: inFeatures, c: xp.baseAddress!, ldc: inFeatures)
                }
            }
        }
        return dx
    }
}
