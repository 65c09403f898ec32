// Activations: ReLU, Sigmoid, Softmax. Each caches its output in training mode, which is all its
// backward needs.
//
//   ReLU     y = max(0, x)              dx = dy · [y > 0]      (the kink x = 0 gets gradient 0, as PyTorch)
//   Sigmoid  y = 1 / (1 + e^−x)         dx = dy · y · (1 − y)
//   Softmax  y_i = e^{x_i} / Σ_j e^{x_j} over the last axis
//            dx_i = y_i · (dy_i − Σ_j dy_j · y_j)
import Foundation

/// Elementwise `out[i] = f(a[i], b[i])` in parallel; `b` may be the same tensor as `a`.
func zipMap(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape, "elementwise: shape \(a.shape) vs \(b.shape)")
    return a.scalars.withUnsafeBufferPointer { ap in
        b.scalars.withUnsafeBufferPointer { bp in
            Tensor(shape: a.shape, fillingUninitialized: { po in
                guard let pa = ap.baseAddress, let pb = bp.baseAddress else { return }
                parallelFor(ap.count, minimumChunk: 1 << 16) { part in
                    for i in part { po[i] = f(pa[i], pb[i]) }
                }
            })
        }
    }
}

/// Rectified linear unit, elementwise.
public final class ReLU: Layer {
    private var output: Tensor?
    public var parameters: [Parameter] { [] }
    public init() {}

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let y = zipMap(x, x) { v, _ in max(v, 0) }
        output = mode == .training ? y : nil
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let y = trainingCache(output, "ReLU")
        return zipMap(dy, y) { d, v in v > 0 ? d : 0 }
    }
}

/// Logistic sigmoid, elementwise.
public final class Sigmoid: Layer {
    private var output: Tensor?
    public var parameters: [Parameter] { [] }
    public init() {}

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        // Two branches so that exp never overflows.
        let y = zipMap(x, x) { v, _ in
            if v >= 0 { return 1 / (1 + exp(-v)) }
            let e = exp(v)
            return e / (1 + e)
        }
        output = mode == .training ? y : nil
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let y = trainingCache(output, "Sigmoid")
        return zipMap(dy, y) { d, v in d * v * (1 - v) }
    }
}

/// Softmax over the last axis (e.g. class logits `[N, classes]`).
public final class Softmax: Layer {
    private var output: Tensor?
    public var parameters: [Parameter] { [] }
    public init() {}

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        precondition(x.rank >= 1 && x.shape.last! > 0, "Softmax: input \(x.shape) has an empty last axis")
        let width = x.shape.last!, rows = x.count / width
        var y = Tensor(shape: x.shape)
        x.scalars.withUnsafeBufferPointer { xp in
            y.scalars.withUnsafeMutableBufferPointer { yp in
                for r in 0..<rows {
                    let xr = xp.baseAddress! + r * width, yr = yp.baseAddress! + r * width
                    var top = xr[0]
                    for i in 1..<width { top = max(top, xr[i]) }
                    var total: Float = 0
                    for i in 0..<width { yr[i] = exp(xr[i] - top); total += yr[i] }
                    for i in 0..<width { yr[i] /= total }
                }
            }
        }
        output = mode == .training ? y : nil
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let y = trainingCache(output, "Softmax")
        precondition(dy.shape == y.shape, "Softmax: dy \(dy.shape) vs output \(y.shape)")
        let width = y.shape.last!, rows = y.count / width
        var dx = Tensor(shape: y.shape)
        for r in 0..<rows {
            var dot: Float = 0
            for i in 0..<width { dot += dy.scalars[r * width + i] * y.scalars[r * width + i] }
            for i in 0..<width {
                dx.scalars[r * width + i] = y.scalars[r * width + i] * (dy.scalars[r * width + i] - dot)
            }
        }
        return dx
    }
}
