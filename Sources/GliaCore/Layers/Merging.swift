// Layers that join branches: Concat (U-Net skip connections) and Add (residual connections).
//
//   Concat  y[..., C₀ + … + C_{i−1} + c] = x_i[..., c] along channels;  dx_i = the matching slice of dy
//   Add     y = a + b;  da = db = dy

/// Concatenation of NHWC tensors along channels; all parts share N, H, W.
public final class Concat: Layer {
    private var channelCounts: [Int]?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// Joins `parts` along the channel (last) axis.
    public func forward(_ parts: [Tensor], mode: ForwardMode) -> Tensor {
        precondition(!parts.isEmpty, "Concat: no inputs")
        let lead = Array(parts[0].shape.dropLast())
        for p in parts {
            precondition(p.rank == parts[0].rank && Array(p.shape.dropLast()) == lead,
                         "Concat: shapes \(parts.map(\.shape)) differ outside the channel axis")
        }
        let counts = parts.map { $0.shape.last! }
        let total = counts.reduce(0, +), rows = lead.reduce(1, *)
        let y = Tensor(shape: lead + [total], fillingUninitialized: { dst in
            var offset = 0
            for (p, c) in zip(parts, counts) {
                p.scalars.withUnsafeBufferPointer { pp in
                    guard let src = pp.baseAddress else { return }
                    let start = offset
                    parallelFor(rows, minimumChunk: max(1, 32768 / max(1, total))) { part in
                        for r in part { (dst + r * total + start).update(from: src + r * c, count: c) }
                    }
                }
                offset += c
            }
        })
        channelCounts = mode == .training ? counts : nil
        return y
    }

    /// Splits dy back into one gradient per input, in input order.
    public func backward(_ dy: Tensor) -> [Tensor] {
        let counts = trainingCache(channelCounts, "Concat")
        let total = counts.reduce(0, +)
        precondition(dy.shape.last == total, "Concat: dy \(dy.shape) does not have \(total) channels")
        let lead = Array(dy.shape.dropLast()), rows = lead.reduce(1, *)
        var offset = 0
        return counts.map { c in
            let part = dy.scalars.withUnsafeBufferPointer { dp in
                Tensor(shape: lead + [c], fillingUninitialized: { dst in
                    guard let src = dp.baseAddress else { return }
                    let start = offset
                    parallelFor(rows, minimumChunk: max(1, 32768 / max(1, total))) { range in
                        for r in range { (dst + r * c).update(from: src + r * total + start, count: c) }
                    }
                })
            }
            offset += c
            return part
        }
    }
}

/// Elementwise sum of two same-shaped tensors (a residual connection).
public final class Add: Layer {
    private var trained = false
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// a + b; the shapes must match.
    public func forward(_ a: Tensor, _ b: Tensor, mode: ForwardMode) -> Tensor {
        precondition(a.shape == b.shape, "Add: shapes \(a.shape) and \(b.shape) differ")
        trained = mode == .training
        return zipMap(a, b, Sum.self)
    }

    /// The gradient for each input, which is `dy` for both.
    public func backward(_ dy: Tensor) -> (Tensor, Tensor) {
        precondition(trained, "Add.backward needs a training-mode forward first (the last forward was inference or none)")
        return (dy, dy)
    }
}
