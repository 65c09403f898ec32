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
// With stride 1, dx is computed as a convolution of dy with the turned-around filters (see
// `inputGradientAsConvolution`), so only strided convolutions need col2im.
//
// Blocks and threads: output rows are cut into blocks of at most `columnBlockElements` column floats
// (memory stays bounded whatever the batch and image size). parallelFor workers each take a run of
// blocks and do im2col + GEMM (+ bias) for one block while it sits in their core's cache, with
// OpenBLAS held to one thread so it does not compete with them. Backward recomputes the columns per
// block instead of keeping them from forward; the training forward keeps only x.
//
// Inference can fuse a ReLU or a residual sum into the pass that adds the bias (ConvolutionEpilogue.swift),
// and run through BatchNorm-folded weights (ConvBatchNorm.swift).
//
// Stride-1 3x3 convolutions with enough output tiles run as Winograd instead of im2col (Winograd.swift):
// F(4x4, 3x3) at inference, F(2x2, 3x3) in training, forward and as dx; the filters' transform is kept
// per weights version. Other stride-1 convolutions with at most 32 output channels (the ResUNet's
// full-resolution layers, forward and dx) run as direct AVX-512 or AVX2 kernels where the CPU has
// them (DirectConvolution.swift). The weight gradient is im2col on every path.

/// How a convolution computes its products.
public enum ConvolutionAlgorithm: Sendable {
    /// Winograd where it applies (`Conv2D.winogradTileSide`), else im2col and GEMM.
    case automatic
    /// Always im2col and GEMM (the reference path of benchmarks and tests).
    case im2col

    /// Every new convolution's algorithm: `im2col` where the environment sets `GLIA_CONVOLUTION=im2col`
    /// (to measure or check against the plain path), else `automatic`.
    public static let processDefault: ConvolutionAlgorithm =
        getenvString("GLIA_CONVOLUTION") == "im2col" ? .im2col : .automatic
}

/// A 2-D convolution with a square kernel, zero padding and an optional bias.
public final class Conv2D: Layer {
    /// Default for `columnBlockElements`: 2 MB, about one core's L2 share, and still 227 rows for the
    /// largest patch (3x3x256), enough for GEMM to run at speed.
    public static let defaultColumnBlockElements = 1 << 19

    /// Channel counts, square kernel side, stride and zero padding.
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
    /// How forward and dx are computed (`.im2col` also turns the direct kernels off); the weight
    /// gradient is always im2col.
    public var algorithm = ConvolutionAlgorithm.processDefault
    /// Floats per vector of the direct convolution (DirectConvolution.swift) for stride-1 layers with
    /// few output channels: 16 (AVX-512), 8 (AVX2), 0 (never direct). Capped by what the CPU runs;
    /// `GLIA_DIRECT_CONVOLUTION=avx2` or `=off` sets every new layer's. Only with `.automatic`.
    public var directVectorWidth = DirectConvolution.processWidth
    private var input: Tensor?
    /// The Winograd transform of the weights last convolved with, and the key they were made for.
    private var winogradFilters: (key: [Int], filters: WinogradFilters)?

    /// Trainable tensors: weight, then bias (if any).
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

    /// The output tile side of the Winograd convolution a `mode` forward over an input of `shape`
    /// `[N, H, W, Cin]` runs on the calling path: 4 (F(4x4, 3x3), inference), 2 (F(2x2, 3x3)), or nil
    /// for im2col. The worker count counts: each worker needs enough tiles.
    public func winogradTileSide(forInputOf shape: [Int], mode: ForwardMode) -> Int? {
        precondition(shape.count == 4, "\(weight.name): input shape \(shape) is not [N, H, W, C]")
        let g = ConvGeometry(batch: shape[0], height: shape[1], width: shape[2], channels: shape[3],
                             kernel: kernelSize, stride: stride, padding: padding)
        return winogradTile(g, outputs: outChannels, mode: mode)?.side
    }

    /// The vector width, in floats, of the direct convolution a forward over an input of `shape`
    /// `[N, H, W, Cin]` runs (16 or 8), or nil where it does not run directly.
    public func directConvolutionWidth(forInputOf shape: [Int], mode: ForwardMode) -> Int? {
        precondition(shape.count == 4, "\(weight.name): input shape \(shape) is not [N, H, W, C]")
        let g = ConvGeometry(batch: shape[0], height: shape[1], width: shape[2], channels: shape[3],
                             kernel: kernelSize, stride: stride, padding: padding)
        if winogradTile(g, outputs: outChannels, mode: mode) != nil { return nil }
        return directWidth(g, outputs: outChannels)
    }

    /// The direct convolution's vector width for `g` with `outputs` channels, or nil for im2col.
    private func directWidth(_ g: ConvGeometry, outputs: Int) -> Int? {
        let width = DirectConvolution.usableWidth(directVectorWidth)
        guard algorithm == .automatic, width > 0, DirectConvolution.applies(to: g, outputs: outputs, width: width)
        else { return nil }
        return width
    }

    /// F(4x4, 3x3) for inference where it has the tiles, else F(2x2, 3x3) where that applies, else nil.
    private func winogradTile(_ g: ConvGeometry, outputs: Int, mode: ForwardMode) -> WinogradTile? {
        guard algorithm == .automatic else { return nil }
        if mode == .inference && Winograd.applies(to: g, outputs: outputs, tile: .four) { return .four }
        return Winograd.applies(to: g, outputs: outputs, tile: .two) ? .two : nil
    }

    /// Output rows per block: no more columns than `columnBlockElements`, and at least one block per worker.
    private func blockRows(_ g: ConvGeometry) -> Int {
        let byMemory = columnBlockElements / g.patch
        let perWorker = (g.rows + ParallelConfig.workerCount - 1) / ParallelConfig.workerCount
        return max(1, min(byMemory, perWorker))
    }

    /// `[N, H, W, Cin] -> [N, Ho, Wo, Cout]`; a training forward keeps x for `backward`.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        input = mode == .training ? x : nil
        return convolve(x, weights: weight.value, bias: bias?.value, then: .plain, mode: mode, key: ownWeightsKey)
    }

    /// Names this layer's own weights as they are now, for the Winograd filter cache.
    private var ownWeightsKey: [Int] { [0, weight.version] }

    /// An inference forward with `epilogue` fused into the output pass: ReLU(conv(x)), say, in one
    /// pass over the output instead of two.
    public func inference(_ x: Tensor, then epilogue: ConvolutionEpilogue) -> Tensor {
        input = nil
        return convolve(x, weights: weight.value, bias: bias?.value, then: epilogue, mode: .inference,
                        key: ownWeightsKey)
    }

    /// Drops what a training forward kept, for callers that run this layer's inference through
    /// other weights (`ConvBatchNorm`) and must not leave a stale activation alive.
    func forgetTrainingCache() { input = nil }

    /// The convolution of `x` with `weights` (`[Cout, k, k, Cin]`, this layer's own or BatchNorm
    /// folded into them) and `bias`, then `epilogue`, for a `mode` forward; keeps nothing but the
    /// Winograd transform of `weights`, reused while the caller passes the same `key` (which must
    /// change with the weights).
    func convolve(_ x: Tensor, weights: Tensor, bias: Tensor?, then epilogue: ConvolutionEpilogue,
                  mode: ForwardMode, key: [Int]) -> Tensor {
        let g = geometry(for: x)
        let shape = [g.batch, g.outHeight, g.outWidth, outChannels]
        if g.rows == 0 || x.count == 0 { return Tensor(shape: shape) }
        let winograd = winogradTile(g, outputs: outChannels, mode: mode).map { cachedWinogradFilters(weights, key: key, tile: $0) }
        return x.scalars.withUnsafeBufferPointer { xp in
            weights.scalars.withUnsafeBufferPointer { wp in
                epilogue.withOutputPass(bias: bias, outputShape: shape) { pass in
                    convolved(xp.baseAddress!, g, weights: wp.baseAddress!, winograd: winograd,
                              outputs: outChannels, pass: pass)
                }
            }
        }
    }

    /// The Winograd filters of `weights` for `tile`, made again only when `key` or `tile` differs
    /// from the last call's.
    private func cachedWinogradFilters(_ weights: Tensor, key: [Int], tile: WinogradTile) -> WinogradFilters {
        if let winogradFilters, winogradFilters.key == key, winogradFilters.filters.tile == tile {
            return winogradFilters.filters
        }
        let filters = weights.scalars.withUnsafeBufferPointer {
            WinogradFilters(weights: $0.baseAddress!, outChannels: outChannels, inChannels: inChannels, tile: tile)
        }
        winogradFilters = (key, filters)
        return filters
    }

    /// out = conv(x), through `winograd` filters where given, else im2col and GEMM.
    private func convolved(_ x: UnsafePointer<Float>, _ g: ConvGeometry, weights: UnsafePointer<Float>,
                           winograd: WinogradFilters?, outputs nOut: Int, pass: OutputPass) -> Tensor {
        guard let winograd else { return lowered(x, g, weights: weights, outputs: nOut, pass: pass) }
        return Tensor(shape: [g.batch, g.outHeight, g.outWidth, nOut], fillingUninitialized: { y in
            Winograd.convolve(x, g, filters: winograd, pass: pass, into: y)
        })
    }

    /// out[rows, nOut] = im2col(x)·weightsᵀ, then the output pass, with weights `[nOut, patch]`. Each
    /// worker takes a contiguous run of row blocks and does im2col, GEMM and the pass for a block while
    /// it is in cache.
    private func lowered(_ x: UnsafePointer<Float>, _ g: ConvGeometry, weights: UnsafePointer<Float>,
                         outputs nOut: Int, pass: OutputPass) -> Tensor {
        if let width = directWidth(g, outputs: nOut) {
            return DirectConvolution.convolve(x, g, weights: weights, outputs: nOut, pass: pass, width: width)
        }
        let patch = g.patch, rows = g.rows
        let pointwise = g.kernel == 1 && g.stride == 1 && g.padding == 0
        if splitsOutputChannels(rows: rows, outputs: nOut, patch: patch) {
            return loweredAcrossOutputChannels(x, g, pointwise: pointwise, weights: weights, outputs: nOut, pass: pass)
        }
        let block = blockRows(g), blocks = (rows + block - 1) / block
        return Tensor(shape: [g.batch, g.outHeight, g.outWidth, nOut], fillingUninitialized: { y in
            parallelFor(blocks, minimumChunk: 1) { range in
                withThreadScratch(count: pointwise ? 0 : block * patch) { scratch in
                    let col = pointwise ? nil : scratch
                    for index in range {
                        let r0 = index * block, r1 = min(rows, r0 + block)
                        var a = x + r0 * patch
                        if let col { im2col(x, g, rows: r0..<r1, into: col); a = UnsafePointer(col) }
                        let out = y + r0 * nOut
                        BLAS.gemm(transposeB: true, m: r1 - r0, n: nOut, k: patch,
                                  a: a, lda: patch, b: weights, ldb: patch, c: out, ldc: nOut)
                        pass.apply(to: out, firstRow: r0, rows: r1 - r0, width: nOut)
                    }
                }
            }
        })
    }

    /// Fewest output rows per worker for `lowered` to split rows; below it (deep layers at batch 1:
    /// 64 rows for ResNet's layer4) each worker would pack all the weights for a thin slice of rows, so
    /// the workers split the output channels instead and each packs only its share.
    static let minimumRowsPerWorker = 128

    /// Whether `lowered` splits the output channels over the workers instead of the rows.
    private func splitsOutputChannels(rows: Int, outputs nOut: Int, patch: Int) -> Bool {
        let workers = ParallelConfig.workerCount
        return workers > 1 && rows < Self.minimumRowsPerWorker * workers && nOut >= 32 * workers
            && rows * patch <= columnBlockElements * workers
    }

    /// `lowered` for few rows: im2col once, then each worker multiplies all rows by a contiguous run of
    /// output channels (in sixteens, OpenBLAS's widest kernel), and the output pass runs once at the end.
    private func loweredAcrossOutputChannels(_ x: UnsafePointer<Float>, _ g: ConvGeometry, pointwise: Bool,
                                             weights: UnsafePointer<Float>, outputs nOut: Int,
                                             pass: OutputPass) -> Tensor {
        let patch = g.patch, rows = g.rows
        var col = [Float]()
        if !pointwise {
            col = [Float](unsafeUninitializedCapacity: rows * patch) { buffer, count in
                im2col(x, g, rows: 0..<rows, into: buffer.baseAddress!)
                count = rows * patch
            }
        }
        return col.withUnsafeBufferPointer { cp in
            let a = pointwise ? x : cp.baseAddress!
            return Tensor(shape: [g.batch, g.outHeight, g.outWidth, nOut], fillingUninitialized: { y in
                let groups = (nOut + 15) / 16
                parallelFor(groups, minimumChunk: 1) { range in
                    let c0 = range.lowerBound * 16, c1 = min(nOut, range.upperBound * 16)
                    BLAS.gemm(transposeB: true, m: rows, n: c1 - c0, k: patch, a: a, lda: patch,
                              b: weights + c0 * patch, ldb: patch, c: y + c0, ldc: nOut)
                }
                pass.apply(to: y, firstRow: 0, rows: rows, width: nOut)
            })
        }
    }

    /// Accumulates dW (and db) unless frozen; returns dL/dx, or an empty tensor when
    /// `computesInputGradient` is false.
    public func backward(_ dy: Tensor) -> Tensor {
        let x = trainingCache(input, "Conv2D \(weight.name)")
        let g = geometry(for: x)
        precondition(dy.shape == [g.batch, g.outHeight, g.outWidth, outChannels],
                     "\(weight.name): dy shape \(dy.shape) does not match the output of input \(x.shape)")
        let cout = outChannels
        if let bias, !bias.isFrozen, g.rows > 0 {
            let sums = dy.scalars.withUnsafeBufferPointer { channelSums($0.baseAddress!, rows: g.rows, channels: cout) }
            for o in 0..<cout { bias.grad.scalars[o] += Float(sums[o]) }
        }
        if g.rows == 0 || x.count == 0 { return Tensor(shape: computesInputGradient ? x.shape : [0]) }
        if !weight.isFrozen { accumulateWeightGradient(x, dy, g) }
        guard computesInputGradient else { return Tensor(shape: [0]) }
        if stride == 1 && padding <= kernelSize - 1 { return inputGradientAsConvolution(dy, g) }
        return inputGradientByCol2im(dy, g)
    }

    /// dW += dyᵀ·im2col(x), over row blocks. Each worker sums into its own dW so none share memory;
    /// the partial sums are added in a fixed order.
    private func accumulateWeightGradient(_ x: Tensor, _ dy: Tensor, _ g: ConvGeometry) {
        let cout = outChannels, patch = g.patch, rows = g.rows
        let pointwise = isPointwise
        let block = blockRows(g), blocks = (rows + block - 1) / block
        let parts = min(ParallelConfig.workerCount, blocks), size = cout * patch
        var partial = [Float](repeating: 0, count: parts * size)
        x.scalars.withUnsafeBufferPointer { xp in
            dy.scalars.withUnsafeBufferPointer { dp in
                partial.withUnsafeMutableBufferPointer { pp in
                    let xs = xp.baseAddress!, d = dp.baseAddress!, acc = pp.baseAddress!
                    parallelFor(parts, minimumChunk: 1) { range in
                        withThreadScratch(count: pointwise ? 0 : block * patch) { scratch in
                            let col = pointwise ? nil : scratch
                            for part in range {
                                for index in (part * blocks / parts)..<((part + 1) * blocks / parts) {
                                    let r0 = index * block, r1 = min(rows, r0 + block)
                                    var a = xs + r0 * patch
                                    if let col { im2col(xs, g, rows: r0..<r1, into: col); a = UnsafePointer(col) }
                                    BLAS.gemm(transposeA: true, m: cout, n: patch, k: r1 - r0,
                                              a: d + r0 * cout, lda: cout, b: a, ldb: patch, beta: 1,
                                              c: acc + part * size, ldc: patch)
                                }
                            }
                        }
                    }
                }
            }
        }
        weight.grad.scalars.withUnsafeMutableBufferPointer { gp in
            for part in 0..<parts { for i in 0..<size { gp[i] += partial[part * size + i] } }
        }
    }

    /// Stride 1: dx is itself a convolution of dy, with padding k−1−p and the filters turned around,
    /// W'[ci, ky, kx, co] = W[co, k−1−ky, k−1−kx, ci]:
    ///   dx[iy, ix, ci] = Σ dy[iy + ky − (k−1−p), ix + kx − (k−1−p), co] · W'[ci, ky, kx, co].
    /// Output rows are independent, so it parallelises like forward and needs no col2im. Through
    /// Winograd it reads the forward's transformed filters (WinogradFilters: turning is a reflection).
    private func inputGradientAsConvolution(_ dy: Tensor, _ g: ConvGeometry) -> Tensor {
        let k = kernelSize, cin = inChannels, cout = outChannels
        let gt = ConvGeometry(batch: g.batch, height: g.outHeight, width: g.outWidth, channels: cout,
                              kernel: k, stride: 1, padding: k - 1 - padding)
        precondition(gt.outHeight == g.height && gt.outWidth == g.width, "transposed geometry mismatch")
        if winogradTile(gt, outputs: cin, mode: .training) == .two {
            let filters = cachedWinogradFilters(weight.value, key: ownWeightsKey, tile: .two)
            return dy.scalars.withUnsafeBufferPointer { dp in
                Tensor(shape: [g.batch, g.height, g.width, cin], fillingUninitialized: { dx in
                    Winograd.convolve(dp.baseAddress!, gt, filters: filters, turned: true, pass: .none, into: dx)
                })
            }
        }
        var turned = [Float](repeating: 0, count: weight.value.count)
        weight.value.scalars.withUnsafeBufferPointer { w in
            for co in 0..<cout { for ky in 0..<k { for kx in 0..<k { for ci in 0..<cin {
                turned[((ci * k + (k - 1 - ky)) * k + (k - 1 - kx)) * cout + co] = w[((co * k + ky) * k + kx) * cin + ci]
            } } } }
        }
        return dy.scalars.withUnsafeBufferPointer { dp in
            turned.withUnsafeBufferPointer { tp in
                lowered(dp.baseAddress!, gt, weights: tp.baseAddress!, outputs: cin, pass: .none)
            }
        }
    }

    /// Strided: dcol = dy·W per row block, then col2im. Each worker owns whole images, whose input
    /// pixels no other worker touches.
    private func inputGradientByCol2im(_ dy: Tensor, _ g: ConvGeometry) -> Tensor {
        let cout = outChannels, patch = g.patch
        let perImage = g.outHeight * g.outWidth
        let block = max(1, min(perImage, columnBlockElements / patch))
        var dx = Tensor(shape: [g.batch, g.height, g.width, g.channels])
        weight.value.scalars.withUnsafeBufferPointer { wp in
            dy.scalars.withUnsafeBufferPointer { dp in
                dx.scalars.withUnsafeMutableBufferPointer { xp in
                    let w = wp.baseAddress!, d = dp.baseAddress!, out = xp.baseAddress!
                    parallelFor(g.batch, minimumChunk: 1) { images in
                        withThreadScratch(count: block * patch) { col in
                            for image in images {
                                var r0 = image * perImage
                                while r0 < (image + 1) * perImage {
                                    let r1 = min((image + 1) * perImage, r0 + block)
                                    BLAS.gemm(m: r1 - r0, n: patch, k: cout, a: d + r0 * cout, lda: cout,
                                              b: w, ldb: patch, c: col, ldc: patch)
                                    col2imAccumulate(col, g, rows: r0..<r1, into: out)
                                    r0 = r1
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
