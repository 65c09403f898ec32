// Layers that move values without arithmetic: Upsample2x (nearest) and Flatten.
//
//   Upsample2x  y[n, 2i + a, 2j + b, c] = x[n, i, j, c] (a, b ∈ {0, 1});  dx[n, i, j, c] = Σ_{a,b} dy[...]
//   Flatten     [N, H, W, C] -> [N, C·H·W] in PyTorch's NCHW order: y[n, (c·H + h)·W + w] = x[n, h, w, c],
//               so the Linear weights that follow a torch nn.Flatten load unchanged.  dx = the inverse permutation.

/// Nearest-neighbour 2x upsampling, `[N, H, W, C] -> [N, 2H, 2W, C]`.
public final class Upsample2x: Layer {
    private var inputShape: [Int]?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let (n, h, w, c) = x.nhwc
        let y = x.scalars.withUnsafeBufferPointer { xp in
            Tensor(shape: [n, 2 * h, 2 * w, c], fillingUninitialized: { ys in
                guard let xs = xp.baseAddress else { return }
                // One worker per input row; it writes the two output rows that row becomes.
                parallelFor(n * h, minimumChunk: max(1, 16384 / max(1, w * c))) { part in
                    for row in part {
                        let src = xs + row * w * c
                        let top = ys + 2 * row * 2 * w * c, bottom = top + 2 * w * c
                        for j in 0..<w {
                            let s = src + j * c
                            (top + 2 * j * c).update(from: s, count: c)
                            (top + (2 * j + 1) * c).update(from: s, count: c)
                        }
                        bottom.update(from: top, count: 2 * w * c)
                    }
                }
            })
        }
        inputShape = mode == .training ? x.shape : nil
        return y
    }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let shape = trainingCache(inputShape, "Upsample2x")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        precondition(dy.shape == [n, 2 * h, 2 * w, c], "Upsample2x: dy \(dy.shape), expected \([n, 2 * h, 2 * w, c])")
        return dy.scalars.withUnsafeBufferPointer { dp in
            Tensor(shape: shape, fillingUninitialized: { o in
                guard let d = dp.baseAddress else { return }
                parallelFor(n * h, minimumChunk: max(1, 16384 / max(1, w * c))) { part in
                    for row in part {
                        let top = d + 2 * row * 2 * w * c, bottom = top + 2 * w * c
                        for j in 0..<w {
                            let out = o + (row * w + j) * c
                            let a = top + 2 * j * c, b = bottom + 2 * j * c
                            for ch in 0..<c { out[ch] = (a[ch] + a[c + ch]) + (b[ch] + b[c + ch]) }
                        }
                    }
                }
            })
        }
    }
}

/// `[N, H, W, C] -> [N, C·H·W]` in PyTorch's (c, h, w) order.
public final class Flatten: Layer {
    private var inputShape: [Int]?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let (n, h, w, c) = x.nhwc
        inputShape = mode == .training ? x.shape : nil
        return x.nhwcToNCHW().reshaped([n, c * h * w])
    }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let shape = trainingCache(inputShape, "Flatten")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        precondition(dy.shape == [n, c * h * w], "Flatten: dy \(dy.shape), expected \([n, c * h * w])")
        return dy.reshaped([n, c, h, w]).nchwToNHWC()
    }
}
