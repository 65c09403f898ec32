// Im2Col: lowering a 2-D convolution onto GEMM, in NHWC.
//
// Geometry: input [N, H, W, C], square kernel k, stride s, zero padding p;
// Ho = (H + 2p - k) / s + 1, Wo likewise (floor, as PyTorch).
// The column matrix has one row per output pixel, in output NHWC order (row r = (b * Ho + oy) * Wo + ox),
// and k*k*C columns in (ky, kx, c) order, which is the order of an OHWI filter row, so
// Y[rows, Cout] = col[rows, k*k*C] * W[Cout, k*k*C]^T. Entries that fall in the padding are zero.
// Because channels are the fastest axis, the k*C values of one kernel row at one output pixel are one
// contiguous run of the input (when inside the image), so a column row is k memcpy-like copies.
//
// Both directions work on a block of rows [r0, r1) so a caller can bound the column buffer's memory,
// and both are serial: callers parallelise over blocks, keeping each block's columns in one core's cache.

/// The shapes of one convolution: input extents, kernel, stride, padding and output extents.
public struct ConvGeometry: Sendable, Equatable {
    /// Input extents, NHWC.
    public let batch: Int, height: Int, width: Int, channels: Int
    /// Square kernel side, stride and zero padding.
    public let kernel: Int, stride: Int, padding: Int
    /// Output extents (floor mode, as PyTorch).
    public let outHeight: Int, outWidth: Int

    /// Geometry of a k x k convolution over an `[N, H, W, C]` input. The output must be non-empty.
    public init(batch: Int, height: Int, width: Int, channels: Int, kernel: Int, stride: Int, padding: Int) {
        precondition(kernel > 0 && stride > 0 && padding >= 0,
                     "convolution needs kernel > 0, stride > 0, padding >= 0 (got \(kernel), \(stride), \(padding))")
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        outHeight = (height + 2 * padding - kernel) / stride + 1
        outWidth = (width + 2 * padding - kernel) / stride + 1
        precondition(height + 2 * padding >= kernel && width + 2 * padding >= kernel,
                     "kernel \(kernel) larger than the padded input \(height)x\(width) (padding \(padding))")
    }

    /// Number of column rows: output pixels over the batch, N * Ho * Wo.
    @inlinable public var rows: Int { batch * outHeight * outWidth }
    /// Length of one column row: k * k * C.
    @inlinable public var patch: Int { kernel * kernel * channels }
}

/// Writes column rows `rows` of `x` into `col` (row-major, `rows.count` x `patch`).
public func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>,
                   into col: UnsafeMutablePointer<Float>) {
    let (k, c, s, p) = (g.kernel, g.channels, g.stride, g.padding)
    let patch = g.patch, run = k * c
    // Output pixel of the current row, stepped along instead of divided out per row (three integer
    // divisions per row cost as much as the copying for an RGB input).
    var ox = rows.lowerBound % g.outWidth
    var oy = (rows.lowerBound / g.outWidth) % g.outHeight
    var b = rows.lowerBound / (g.outWidth * g.outHeight)
    for local in 0..<rows.count {
        defer {
            ox += 1
            if ox == g.outWidth { ox = 0; oy += 1; if oy == g.outHeight { oy = 0; b += 1 } }
        }
        let ix0 = ox * s - p
        // Valid kx range: 0 <= ix0 + kx < W.
        let kxLow = max(0, -ix0), kxHigh = min(k, g.width - ix0)
        var dst = col + local * patch
        for ky in 0..<k {
            let iy = oy * s - p + ky
            if iy < 0 || iy >= g.height || kxLow >= kxHigh {
                fillZero(dst, run)
            } else {
                if kxLow > 0 { fillZero(dst, kxLow * c) }
                let src = x + ((b * g.height + iy) * g.width + ix0 + kxLow) * c
                copyFloats(dst + kxLow * c, src, (kxHigh - kxLow) * c)
                if kxHigh < k { fillZero(dst + kxHigh * c, (k - kxHigh) * c) }
            }
            dst += run
        }
    }
}

/// Copies `n` floats. Inline 8-wide moves: im2col's runs are short (k·C = 9 floats for an RGB
/// 3x3 filter), where a call to memmove per run cost more than the copying.
@inline(__always) private func copyFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i &+ 8 <= n {
        UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self),
                                                    as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < n { dst[i] = src[i]; i &+= 1 }
}

/// Sets `n` floats to zero, inline like `copyFloats`.
@inline(__always) private func fillZero(_ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i &+ 8 <= n {
        UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < n { dst[i] = 0; i &+= 1 }
}

/// The adjoint of `im2col`: adds column rows `rows` of `col` back onto the input pixels they came
/// from, `dx[pixel] += col[row, (ky, kx)]`. Runs as a gather over the input pixels the block can
/// touch; blocks that share input pixels must not run at the same time.
public func col2imAccumulate(_ col: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>,
                             into dx: UnsafeMutablePointer<Float>) {
    if rows.isEmpty { return }
    let (k, c, s, p) = (g.kernel, g.channels, g.stride, g.padding)
    let patch = g.patch
    let outPlane = g.outHeight * g.outWidth
    // Input pixels the block can touch: from the top input row of its first output row to the
    // bottom input row of its last.
    let firstB = rows.lowerBound / outPlane, firstOy = (rows.lowerBound % outPlane) / g.outWidth
    let lastB = (rows.upperBound - 1) / outPlane, lastOy = ((rows.upperBound - 1) % outPlane) / g.outWidth
    let start = (firstB * g.height + max(0, firstOy * s - p)) * g.width
    let end = (lastB * g.height + min(g.height - 1, lastOy * s - p + k - 1)) * g.width + g.width
    if start >= end { return }
    for q in start..<end {
        let ix = q % g.width, iy = (q / g.width) % g.height, b = q / (g.width * g.height)
        let target = dx + q * c
        for ky in 0..<k {
            let ty = iy + p - ky
            if ty < 0 { break }
            if ty % s != 0 { continue }
            let oy = ty / s
            if oy >= g.outHeight { continue }
            for kx in 0..<k {
                let tx = ix + p - kx
                if tx < 0 { break }
                if tx % s != 0 { continue }
                let ox = tx / s
                if ox >= g.outWidth { continue }
                let row = (b * g.outHeight + oy) * g.outWidth + ox
                if row < rows.lowerBound || row >= rows.upperBound { continue }
                let src = col + (row - rows.lowerBound) * patch + (ky * k + kx) * c
                for i in 0..<c { target[i] += src[i] }
            }
        }
    }
}
