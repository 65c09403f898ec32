// The output pass of a convolution: what happens to each block of output rows right after its GEMM,
// while the block is still in the worker's cache. Fusing the bias, a residual sum and a ReLU here
// saves the separate passes over the whole activation (and their allocations) that the layers
// `BatchNorm2D`, `Tensor.add` and `ReLU` would each make at inference.
//
// Per element, in this order: y = gemm + bias, y += residual, y = max(y, 0), the order of the unfused
// layers (bias, BatchNorm folded into the weights and bias, residual sum, ReLU).

/// What a convolution does to its output after the product, fused into its output pass.
public enum ConvolutionEpilogue: Sendable {
    /// The product plus bias.
    case plain
    /// ReLU(product + bias).
    case relu
    /// ReLU(product + bias + residual); the residual has the convolution's output shape (the other
    /// branch of a residual block).
    case addThenReLU(Tensor)
}

/// The operands of one output pass, as pointers valid for the length of the convolution.
struct OutputPass {
    /// Per-output-channel bias `[width]`, or nil.
    let bias: UnsafePointer<Float>?
    /// The residual `[rows, width]` (all output rows, not one block's), or nil.
    let residual: UnsafePointer<Float>?
    /// Whether negative results become 0.
    let relu: Bool

    /// A pass that leaves the product as it is.
    static var none: OutputPass { OutputPass(bias: nil, residual: nil, relu: false) }

    /// Applies the pass to output rows `firstRow ..< firstRow + rows`, stored at `block` (row-major,
    /// `width` per row). Serial: convolutions call it per block, on the worker that made the block.
    func apply(to block: UnsafeMutablePointer<Float>, firstRow: Int, rows: Int, width: Int) {
        if bias == nil && residual == nil && !relu { return }
        let wide = width & ~7
        // `replace(with:where:)` rather than `pointwiseMax`: the standard library's generic max was
        // not inlined here (3 % of a ResNet-18 inference in perf).
        let zero = SIMD8<Float>()
        for r in 0..<rows {
            let row = block + r &* width
            let sum = residual.map { $0 + (firstRow &+ r) &* width }
            var c = 0
            while c < wide {
                var v = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD8<Float>.self)
                if let bias { v += UnsafeRawPointer(bias + c).loadUnaligned(as: SIMD8<Float>.self) }
                if let sum { v += UnsafeRawPointer(sum + c).loadUnaligned(as: SIMD8<Float>.self) }
                if relu { v.replace(with: 0, where: v .< zero) }
                UnsafeMutableRawPointer(row + c).storeBytes(of: v, as: SIMD8<Float>.self)
                c &+= 8
            }
            while c < width {
                var v = row[c]
                if let bias { v += bias[c] }
                if let sum { v += sum[c] }
                if relu { v = max(v, 0) }
                row[c] = v
                c &+= 1
            }
        }
    }
}

extension ConvolutionEpilogue {
    /// Runs `body` with this epilogue's output pass over `bias` (nil: none), checking that a residual
    /// has the convolution's output shape.
    func withOutputPass<T>(bias: Tensor?, outputShape: [Int], _ body: (OutputPass) -> T) -> T {
        let relu: Bool, residual: Tensor?
        switch self {
        case .plain:
            (relu, residual) = (false, nil)
        case .relu:
            (relu, residual) = (true, nil)
        case .addThenReLU(let other):
            precondition(other.shape == outputShape,
                         "residual \(other.shape) does not match the convolution's output \(outputShape)")
            (relu, residual) = (true, other)
        }
        return withBaseAddress(bias) { b in
            withBaseAddress(residual) { r in body(OutputPass(bias: b, residual: r, relu: relu)) }
        }
    }
}

/// `body` with the first element of `tensor`, or nil for no tensor.
private func withBaseAddress<T>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> T) -> T {
    guard let tensor else { return body(nil) }
    return tensor.scalars.withUnsafeBufferPointer { body($0.baseAddress) }
}
