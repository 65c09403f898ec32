// Pooling over NHWC activations: MaxPool2D, AvgPool2D, GlobalAvgPool.
//
// Output size as PyTorch (floor mode): Ho = (H + 2p − k) / s + 1.
//   MaxPool     y = max over the window's in-image pixels (padding never wins: it is skipped, not
//               zero); ties go to the first pixel in (ky, kx) order.   dx[argmax] += dy
//   AvgPool(k)  stride k, no padding: y = Σ window / k²;  dx = dy / k² on each window pixel
//               (pixels past the last whole window get 0)
//   GlobalAvg   y[n, c] = Σ_{h,w} x / (H·W);  dx = dy / (H·W)

/// Max pooling with a square window; supports padding (e.g. ResNet's 3x3 stride-2 padding-1 stem).
public final class MaxPool2D: Layer {
    /// Window side, stride and padding (padded positions never win the max).
    public let kernelSize: Int, stride: Int, padding: Int
    /// Input shape and, per output element, where the winner sits in its window (ky·k + kx):
    /// one byte per element instead of a flat index keeps the cache a quarter of the output's size.
    private var cache: (shape: [Int], winner: [UInt8])?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }

    /// PyTorch MaxPool2d(kernelSize, stride, padding); padding at most half the window.
    public init(kernelSize: Int, stride: Int, padding: Int = 0) {
        precondition(kernelSize > 0 && kernelSize <= 15 && stride > 0 && padding >= 0 && 2 * padding <= kernelSize,
                     "MaxPool2D: bad kernel \(kernelSize) (at most 15), stride \(stride), padding \(padding)")
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
    }

    /// The in-image part of output pixel (oy, ox)'s window, as kernel ranges; never empty since
    /// padding <= k/2.
    @inline(__always)
    private func window(_ oy: Int, _ ox: Int, _ h: Int, _ w: Int) -> (ky: Range<Int>, kx: Range<Int>) {
        let (k, s, p) = (kernelSize, stride, padding)
        return (max(0, p - oy * s)..<min(k, h + p - oy * s), max(0, p - ox * s)..<min(k, w + p - ox * s))
    }

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let (n, h, w, c) = x.nhwc
        let g = ConvGeometry(batch: n, height: h, width: w, channels: c,
                             kernel: kernelSize, stride: stride, padding: padding)
        let (ho, wo) = (g.outHeight, g.outWidth)
        let (k, s, p) = (kernelSize, stride, padding)
        let training = mode == .training
        var winner = [UInt8]()
        let y = x.scalars.withUnsafeBufferPointer { xp in
            Tensor(shape: [n, ho, wo, c], fillingUninitialized: { ys in
                guard let xs = xp.baseAddress else { return }
                // Window positions only when backward will need them; every one is written below.
                winner = [UInt8](unsafeUninitializedCapacity: training ? n * ho * wo * c : 0) { buffer, count in
                    let am = training ? buffer.baseAddress : nil
                    parallelFor(n * ho * wo, minimumChunk: max(1, 16384 / max(1, c * k * k))) { part in
                        for r in part {
                            let ox = r % wo, oy = (r / wo) % ho, b = r / (wo * ho)
                            let (kys, kxs) = window(oy, ox, h, w)
                            let yr = ys + r * c
                            let corner = (b * h + oy * s - p) * w + ox * s - p   // pixel of (ky, kx) = (0, 0)
                            let (ky0, kx0) = (kys.lowerBound, kxs.lowerBound)
                            let first = xs + (corner + ky0 * w + kx0) * c
                            guard let am else {
                                yr.update(from: first, count: c)
                                for ky in kys {
                                    for kx in kxs where ky != ky0 || kx != kx0 {
                                        let src = xs + (corner + ky * w + kx) * c
                                        for ch in 0..<c { yr[ch] = max(yr[ch], src[ch]) }
                                    }
                                }
                                continue
                            }
                            // Training: eight channels at a time, keeping the winning position in a
                            // lane beside the running max. Strictly greater: ties keep the first
                            // pixel, as PyTorch.
                            let ar = am + r * c
                            let firstPosition = Int32(ky0 * k + kx0)
                            var c0 = 0
                            while c0 + 8 <= c {
                                var best = UnsafeRawPointer(first + c0).loadUnaligned(as: SIMD8<Float>.self)
                                var position = SIMD8<Int32>(repeating: firstPosition)
                                for ky in kys {
                                    for kx in kxs where ky != ky0 || kx != kx0 {
                                        let v = UnsafeRawPointer(xs + (corner + ky * w + kx) * c + c0)
                                            .loadUnaligned(as: SIMD8<Float>.self)
                                        let better = v .> best
                                        best.replace(with: v, where: better)
                                        position.replace(with: Int32(ky * k + kx), where: better)
                                    }
                                }
                                UnsafeMutableRawPointer(yr + c0).storeBytes(of: best, as: SIMD8<Float>.self)
                                for i in 0..<8 { ar[c0 + i] = UInt8(truncatingIfNeeded: position[i]) }
                                c0 += 8
                            }
                            for ch in c0..<c {
                                var best = first[ch], position = firstPosition
                                for ky in kys {
                                    for kx in kxs where ky != ky0 || kx != kx0 {
                                        let v = xs[(corner + ky * w + kx) * c + ch]
                                        if v > best { best = v; position = Int32(ky * k + kx) }
                                    }
                                }
                                yr[ch] = best
                                ar[ch] = UInt8(truncatingIfNeeded: position)
                            }
                        }
                    }
                    count = training ? n * ho * wo * c : 0
                }
            })
        }
        cache = training ? (x.shape, winner) : nil
        return y
    }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let (shape, winner) = trainingCache(cache, "MaxPool2D")
        precondition(dy.count == winner.count, "MaxPool2D: dy \(dy.shape) does not match the forward output")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let (ho, wo) = (dy.shape[1], dy.shape[2])
        let (k, s, p) = (kernelSize, stride, padding)
        var dx = Tensor(shape: shape)
        dy.scalars.withUnsafeBufferPointer { dp in
            winner.withUnsafeBufferPointer { ap in
                dx.scalars.withUnsafeMutableBufferPointer { xp in
                    guard let d = dp.baseAddress, let am = ap.baseAddress, let o = xp.baseAddress else { return }
                    // Windows overlap within an image, never across images: one image per worker.
                    parallelFor(n, minimumChunk: 1) { images in
                        for r in (images.lowerBound * ho * wo)..<(images.upperBound * ho * wo) {
                            let ox = r % wo, oy = (r / wo) % ho, b = r / (wo * ho)
                            let corner = (b * h + oy * s - p) * w + ox * s - p
                            for ch in 0..<c {
                                let position = Int(am[r * c + ch])
                                o[(corner + (position / k) * w + position % k) * c + ch] += d[r * c + ch]
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Average pooling `AvgPool2d(k)`: window k, stride k, no padding.
public final class AvgPool2D: Layer {
    /// Window side, which is also the stride.
    public let kernelSize: Int
    private var inputShape: [Int]?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }

    /// PyTorch AvgPool2d(kernelSize).
    public init(kernelSize: Int) {
        precondition(kernelSize > 0, "AvgPool2D: kernel must be positive, got \(kernelSize)")
        self.kernelSize = kernelSize
    }

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let (n, h, w, c) = x.nhwc
        let k = kernelSize, ho = h / k, wo = w / k
        precondition(ho > 0 && wo > 0, "AvgPool2D: input \(x.shape) smaller than the \(k)x\(k) window")
        var y = Tensor(shape: [n, ho, wo, c])
        let scale = 1 / Float(k * k)
        for b in 0..<n { for oy in 0..<ho { for ox in 0..<wo {
            let out = ((b * ho + oy) * wo + ox) * c
            for ky in 0..<k { for kx in 0..<k {
                let src = ((b * h + oy * k + ky) * w + ox * k + kx) * c
                for ch in 0..<c { y.scalars[out + ch] += x.scalars[src + ch] }
            } }
            for ch in 0..<c { y.scalars[out + ch] *= scale }
        } } }
        inputShape = mode == .training ? x.shape : nil
        return y
    }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let shape = trainingCache(inputShape, "AvgPool2D")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let k = kernelSize, ho = h / k, wo = w / k
        precondition(dy.shape == [n, ho, wo, c], "AvgPool2D: dy \(dy.shape), expected \([n, ho, wo, c])")
        var dx = Tensor(shape: shape)
        let scale = 1 / Float(k * k)
        for b in 0..<n { for oy in 0..<ho { for ox in 0..<wo {
            let out = ((b * ho + oy) * wo + ox) * c
            for ky in 0..<k { for kx in 0..<k {
                let dst = ((b * h + oy * k + ky) * w + ox * k + kx) * c
                for ch in 0..<c { dx.scalars[dst + ch] = dy.scalars[out + ch] * scale }
            } }
        } } }
        return dx
    }
}

/// Mean over height and width: `[N, H, W, C] -> [N, C]`.
public final class GlobalAvgPool: Layer {
    private var inputShape: [Int]?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let (n, h, w, c) = x.nhwc
        var y = Tensor(shape: [n, c])
        x.scalars.withUnsafeBufferPointer { xp in
            for b in 0..<n {
                let sums = channelSums(xp.baseAddress! + b * h * w * c, rows: h * w, channels: c)
                for ch in 0..<c { y.scalars[b * c + ch] = Float(sums[ch] / Double(h * w)) }
            }
        }
        inputShape = mode == .training ? x.shape : nil
        return y
    }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let shape = trainingCache(inputShape, "GlobalAvgPool")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        precondition(dy.shape == [n, c], "GlobalAvgPool: dy \(dy.shape), expected \([n, c])")
        var dx = Tensor(shape: shape)
        let scale = 1 / Float(h * w)
        for b in 0..<n { for pixel in 0..<(h * w) { for ch in 0..<c {
            dx.scalars[(b * h * w + pixel) * c + ch] = dy.scalars[b * c + ch] * scale
        } } }
        return dx
    }
}
