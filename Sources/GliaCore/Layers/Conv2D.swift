// Conv2D: a square-kernel 2-D convolution over NHWC activations, lowered onto BLAS.gemm.
//
// Layout: x [N, H, W, Cin], weight W [Cout, k, k, Cin] (OHWI; PyTorch OIHW is permuted at load/save),
// bias b [Cout], y [N, Ho, Wo, Cout]. With col = im2col(x) of shape [N*Ho*Wo, k*k*Cin] (see Im2Col.swift):
//
//   forward   y   = col · Wᵀ + b
//   backward  dW += dyᵀ · col          db += Σ_rows dy
//             dcol = dy · W            dx  = col2im(dcol)
//
// A 1x1, stride-1, unpadded convolution has col = x, so it is a plain GEMM with no copy.
// Memory: im2col runs over blocks of output rows so the column buffer stays under
// `columnBlockElements` floats whatever the batch and image size; backward recomputes the
// columns per block instead of keeping them from forward. The training forward keeps only x.

/// A 2-D convolution with a square kernel, zero padding and an optional bias.
public final class Conv2D: Layer {
    /// Default for `columnBlockElements`.
    public static let defaultColumnBlockElements = 1 << 20

    public let inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int
    /// Filters `[Cout, k, k, Cin]` (OHWI), state_dict name "\(name).weight".
    public let weight: Parameter
    /// Per-output-channel bias `[Cout]`, "\(name).bias", or nil for a bias-free convolution.
    public let bias: Parameter?
    /// When false, `backward` skips dL/dx (first layer, frozen input) and returns an empty tensor.
    public var computesInputGradient = true
    /// Upper bound on the im2col buffer (floats) per block of output rows; at least one row is done
    /// at a time. Smaller saves memory, larger gives GEMM longer panels.
    public var columnBlockElements = Conv2D.defaultColumnBlockElements
    private var input: Tensor?

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// He-normal weights (fan-in k*k*Cin); bias U(-1/√fanIn, 1/√fanIn) as PyTorch.
    public init(name: String, inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1,
                padding: Int = 0, bias: Bool = true, rng: inout RandomGenerator) {
        precondition(inChannels > 0 && outChannels > 0, "\(name): channel counts must be positive")
        precondition(kernelSize > 0 && stride > 0 && padding >= 0, "\(name): bad kernel/stride/padding")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        let fanIn = kernelSize * kernelSize * inChannels
        weight = Parameter(name: "\(name).weight",
                           value: Initializer.he(shape: [outChannels, kernelSize, kernelSize, inChannels],
                                                 fanIn: fanIn, using: &rng),
                           torchLayout: .convolutionOHWI)
        if bias {
            let bound = 1 / Float(fanIn).squareRoot()
            self.bias = Parameter(name: "\(name).bias",
                                  value: Tensor(shape: [outChannels]) { _ in rng.uniform(-bound, bound) })
        } else {
            self.bias = nil
        }
    }

    /// True for a 1x1, stride-1, unpadded convolution, which needs no im2col.
    public var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    /// The convolution geometry for an `[N, H, W, Cin]` input.
    public func geometry(for x: Tensor) -> ConvGeometry {
        let (n, h, w, c) = x.nhwc
        precondition(c == inChannels, "\(weight.name): input has \(c) channels, expected \(inChannels)")
        return ConvGeometry(batch: n, height: h, width: w, channels: c,
                            kernel: kernelSize, stride: stride, padding: padding)
    }

    /// Output rows per im2col block.
    private func blockRows(_ g: ConvGeometry) -> Int {
        max(1, min(g.rows, columnBlockElements / g.patch))
    }

    /// `[N, H, W, Cin] -> [N, Ho, Wo, Cout]`; a training forward keeps x for `backward`.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let g = geometry(for: x)
        var y = Tensor(shape: [g.batch, g.outHeight, g.outWidth, outChannels])
        input = mode == .training ? x : nil
        if g.rows == 0 { return y }
        let cout = outChannels, patch = g.patch
        weight.value.scalars.withUnsafeBufferPointer { wp in
            x.scalars.withUnsafeBufferPointer { xp in
                y.scalars.withUnsafeMutableBufferPointer { yp in
                    let w = wp.baseAddress!, xs = xp.baseAddress!, ys = yp.baseAddress!
                    if isPointwise {
                        BLAS.gemm(transposeB: true, m: g.rows, n: cout, k: patch,
                                  a: xs, lda: patch, b: w, ldb: patch, c: ys, ldc: cout)
                        return
                    }
                    let block = blockRows(g)
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: block * patch)
                    defer { col.deallocate() }
                    var r0 = 0
                    while r0 < g.rows {
                        let r1 = min(g.rows, r0 + block)
                        im2col(xs, g, rows: r0..<r1, into: col)
                        BLAS.gemm(transposeB: true, m: r1 - r0, n: cout, k: patch,
                                  a: col, lda: patch, b: w, ldb: patch, c: ys + r0 * cout, ldc: cout)
                        r0 = r1
                    }
                }
            }
        }
        if let bias { addRowVector(bias.value, to: &y) }
        return y
    }

    /// Accumulates dW (and db) unless frozen; returns dL/dx, or an empty tensor when
    /// `computesInputGradient` is false.
    public func backward(_ dy: Tensor) -> Tensor {
        let x = trainingCache(input, "Conv2D \(weight.name)")
        let g = geometry(for: x)
        precondition(dy.shape == [g.batch, g.outHeight, g.outWidth, outChannels],
                     "\(weight.name): dy shape \(dy.shape) does not match the output of input \(x.shape)")
        let cout = outChannels, patch = g.patch
        let needW = !weight.isFrozen, needX = computesInputGradient
        if let bias, !bias.isFrozen {
            let sums = dy.scalars.withUnsafeBufferPointer { channelSums($0.baseAddress!, rows: g.rows, channels: cout) }
            bias.grad.scalars.withUnsafeMutableBufferPointer { gb in
                for o in 0..<cout { gb[o] += Float(sums[o]) }
            }
        }
        var dx = Tensor(shape: needX ? x.shape : [0])
        if (!needW && !needX) || g.rows == 0 { return dx }
        let wValue = weight.value
        var wGrad = needW ? weight.grad : Tensor(shape: [0])
        if needW { weight.grad = Tensor(shape: [0]) }  // take the storage so the += below does not copy
        wValue.scalars.withUnsafeBufferPointer { wp in
            x.scalars.withUnsafeBufferPointer { xp in
                dy.scalars.withUnsafeBufferPointer { dyp in
                    wGrad.scalars.withUnsafeMutableBufferPointer { gp in
                        dx.scalars.withUnsafeMutableBufferPointer { dxp in
                            let w = wp.baseAddress!, xs = xp.baseAddress!, d = dyp.baseAddress!
                            if isPointwise {
                                if needW {
                                    BLAS.gemm(transposeA: true, m: cout, n: patch, k: g.rows,
                                              a: d, lda: cout, b: xs, ldb: patch, beta: 1,
                                              c: gp.baseAddress!, ldc: patch)
                                }
                                if needX {
                                    BLAS.gemm(m: g.rows, n: patch, k: cout, a: d, lda: cout, b: w, ldb: patch,
                                              c: dxp.baseAddress!, ldc: patch)
                                }
                                return
                            }
                            let block = blockRows(g)
                            let col = UnsafeMutablePointer<Float>.allocate(capacity: block * patch)
                            defer { col.deallocate() }
                            var r0 = 0
                            while r0 < g.rows {
                                let r1 = min(g.rows, r0 + block)
                                if needW {
                                    im2col(xs, g, rows: r0..<r1, into: col)
                                    BLAS.gemm(transposeA: true, m: cout, n: patch, k: r1 - r0,
                                              a: d + r0 * cout, lda: cout, b: col, ldb: patch, beta: 1,
                                              c: gp.baseAddress!, ldc: patch)
                                }
                                if needX {
                                    BLAS.gemm(m: r1 - r0, n: patch, k: cout, a: d + r0 * cout, lda: cout,
                                              b: w, ldb: patch, c: col, ldc: patch)
                                    col2imAccumulate(col, g, rows: r0..<r1, into: dxp.baseAddress!)
                                }
                                r0 = r1
                            }
                        }
                    }
                }
            }
        }
        if needW { weight.grad = wGrad }
        return dx
    }
}

/// `y[r, c] += v[c]` for every row of a tensor whose last axis has `v.count` elements.
func addRowVector(_ v: Tensor, to y: inout Tensor) {
    let c = v.count
    let rows = y.count / max(1, c)
    v.scalars.withUnsafeBufferPointer { vp in
        y.scalars.withUnsafeMutableBufferPointer { yp in
            let base = yp.baseAddress!, vb = vp.baseAddress!
            parallelFor(rows, minimumChunk: max(1, 65536 / max(1, c))) { part in
                for r in part {
                    let row = base + r * c
                    for i in 0..<c { row[i] += vb[i] }
                }
            }
        }
    }
}
