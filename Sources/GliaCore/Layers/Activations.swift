// Activations: ReLU, Sigmoid, Softmax. Each caches its output in training mode, which is all its
// backward needs.
//
//   ReLU     y = max(0, x)              dx = dy · [y > 0]      (the kink x = 0 gets gradient 0, as PyTorch)
//   Sigmoid  y = 1 / (1 + e^−x)         dx = dy · y · (1 − y)
//   Softmax  y_i = e^{x_i} / Σ_j e^{x_j} over the last axis
//            dx_i = y_i · (dy_i − Σ_j dy_j · y_j)
import Foundation

/// A two-input elementwise function. Passing it as a type lets `zipMap` be specialised with the
/// function inlined into a vectorisable loop; a closure argument stayed an indirect call per element.
protocol ElementwiseFunction {
    static func apply(_ a: Float, _ b: Float) -> Float
}

/// Elementwise `out[i] = F.apply(a[i], b[i])` in parallel; `b` may be the same tensor as `a`.
func zipMap<F: ElementwiseFunction>(_ a: Tensor, _ b: Tensor, _: F.Type) -> Tensor {
    precondition(a.shape == b.shape, "elementwise: shape \(a.shape) vs \(b.shape)")
    return a.scalars.withUnsafeBufferPointer { ap in
        b.scalars.withUnsafeBufferPointer { bp in
            Tensor(shape: a.shape, fillingUninitialized: { po in
                guard let pa = ap.baseAddress, let pb = bp.baseAddress else { return }
                parallelFor(ap.count, minimumChunk: 1 << 16) { part in
                    for i in part { po[i] = F.apply(pa[i], pb[i]) }
                }
            })
        }
    }
}

enum ReLUForward: ElementwiseFunction {
    @inline(__always) static func apply(_ x: Float, _: Float) -> Float { max(x, 0) }
}
enum ReLUBackward: ElementwiseFunction {
    @inline(__always) static func apply(_ dy: Float, _ y: Float) -> Float { y > 0 ? dy : 0 }
}
enum SigmoidForward: ElementwiseFunction {
    /// Two branches so that exp never overflows.
    @inline(__always) static func apply(_ x: Float, _: Float) -> Float {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }
}
enum SigmoidBackward: ElementwiseFunction {
    @inline(__always) static func apply(_ dy: Float, _ y: Float) -> Float { dy * y * (1 - y) }
}
enum Product: ElementwiseFunction {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
}
enum Sum: ElementwiseFunction {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
}

/// Rectified linear unit, elementwise.
public final class ReLU: Layer {
    private var output: Tensor?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let y = zipMap(x, x, ReLUForward.self)
        output = mode == .training ? y : nil
        return y
    }

    /// Drops the kept output, for blocks whose inference fuses this ReLU into a convolution.
    func forgetTrainingCache() { output = nil }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let y = trainingCache(output, "ReLU")
        return zipMap(dy, y, ReLUBackward.self)
    }
}

/// Logistic sigmoid, elementwise.
public final class Sigmoid: Layer {
    private var output: Tensor?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let y = zipMap(x, x, SigmoidForward.self)
        output = mode == .training ? y : nil
        return y
    }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let y = trainingCache(output, "Sigmoid")
        return zipMap(dy, y, SigmoidBackward.self)
    }
}

/// Softmax over the last axis (e.g. class logits `[N, classes]`).
public final class Softmax: Layer {
    private var output: Tensor?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }
    /// A new layer; each instance caches its own training activations.
    public init() {}

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
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

    /// dL/dx from dL/dy; needs a training-mode forward first.
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
