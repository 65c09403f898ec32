// Tensor: a float32 array with a shape. Read this first.
//
// Memory layout
// - Row-major, contiguous, no strides: element (i0, i1, ..., ik) sits at
//   ((i0 * s1 + i1) * s2 + ...) * sk + ik.
// - Activations are NHWC (batch, height, width, channels): channels are the fastest axis, so a
//   convolution's im2col rows are contiguous runs of pixels' channel vectors, a 1x1 convolution is a
//   plain GEMM of [N*H*W, Cin] by the weights, and per-channel work (BatchNorm, bias) is a short
//   inner loop. PyTorch stores NCHW; checkpoints and parity tests convert at the boundary.
// - Convolution weights are OHWI ([Cout, kh, kw, Cin]): one output channel's filter is one GEMM row
//   over the same (ky, kx, c) order as an im2col row. PyTorch's OIHW is permuted on load and save.
// - Dense weights are [out, in], as in PyTorch.
//
// Storage is a Swift array, so a Tensor is a value type with copy-on-write. Hot loops work through
// `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer` to avoid bounds checks and copies.

/// A contiguous, row-major float32 tensor.
public struct Tensor: Sendable, Equatable {
    /// Extent of each axis, outermost first. Activations are `[N, H, W, C]`.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        self.shape = shape
        self.scalars = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of the given shape over existing elements (row-major).
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` whose elements are produced in order by `body(flatIndex)`.
    public init(shape: [Int], generating body: (Int) -> Float) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, scalars: (0..<count).map(body))
    }

    /// Number of elements.
    @inlinable public var count: Int { scalars.count }
    /// Number of axes.
    @inlinable public var rank: Int { shape.count }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Changes the shape in place; the element count must not change.
    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == scalars.count,
                     "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    /// Element at a multi-index (slow; for tests and small work, never inner loops).
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) does not match shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of range for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// Sets every element to zero, keeping the shape and storage.
    public mutating func zero() {
        scalars.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// `self += other`, elementwise; shapes must match.
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "add: shape \(shape) vs \(other.shape)")
        scalars.withUnsafeMutableBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }

    /// Sum of squares of all elements, accumulated in double.
    public var squaredNorm: Double {
        scalars.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s += Double(v) * Double(v) }
            return s
        }
    }

    /// True when every element is finite (no NaN or infinity).
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }
}

extension Tensor {
    /// Tensor extents as NHWC for a rank-4 activation.
    public var nhwc: (n: Int, h: Int, w: Int, c: Int) {
        precondition(rank == 4, "expected an NHWC tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }

    /// Permutes an NCHW tensor (PyTorch's activation layout) to NHWC.
    public func nchwToNHWC() -> Tensor {
        precondition(rank == 4, "expected NCHW, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        var out = Tensor(shape: [n, h, w, c])
        scalars.withUnsafeBufferPointer { src in
            out.scalars.withUnsafeMutableBufferPointer { dst in
                for b in 0..<n { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
                    dst[((b * h + y) * w + x) * c + ch] = src[((b * c + ch) * h + y) * w + x]
                } } } }
            }
        }
        return out
    }

    /// Permutes an NHWC tensor to NCHW (PyTorch's activation layout).
    public func nhwcToNCHW() -> Tensor {
        let (n, h, w, c) = nhwc
        var out = Tensor(shape: [n, c, h, w])
        scalars.withUnsafeBufferPointer { src in
            out.scalars.withUnsafeMutableBufferPointer { dst in
                for b in 0..<n { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
                    dst[((b * c + ch) * h + y) * w + x] = src[((b * h + y) * w + x) * c + ch]
                } } } }
            }
        }
        return out
    }
}
