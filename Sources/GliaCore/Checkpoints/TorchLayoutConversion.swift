// Conversion between Glia's tensor layouts and PyTorch's, used wherever state crosses the boundary
// (checkpoints, parity tests).
//
// convolutionOHWI: Glia [O, kh, kw, I], element (o, y, x, i) at ((o*kh + y)*kw + x)*I + i;
//                  PyTorch [O, I, kh, kw], element (o, i, y, x) at ((o*I + i)*kh + y)*kw + x.

extension TorchLayout {
    /// The PyTorch shape of a tensor stored in this layout with Glia shape `shape`.
    public func torchShape(_ shape: [Int]) -> [Int] {
        switch self {
        case .same: return shape
        case .convolutionOHWI:
            guard shape.count == 4 else { return shape }
            return [shape[0], shape[3], shape[1], shape[2]]
        }
    }

    /// Glia -> PyTorch element order (OHWI -> OIHW for convolutions).
    public func toTorch(_ t: Tensor) -> Tensor {
        guard self == .convolutionOHWI, t.rank == 4 else { return t }
        let (o, kh, kw, i) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        return Self.permute(t, to: [o, i, kh, kw]) { a, b, c, d in ((a * i + d) * kh + b) * kw + c }
    }

    /// PyTorch -> Glia element order (OIHW -> OHWI for convolutions); `t` has the PyTorch shape.
    public func fromTorch(_ t: Tensor) -> Tensor {
        guard self == .convolutionOHWI, t.rank == 4 else { return t }
        let (o, i, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        return Self.permute(t, to: [o, kh, kw, i]) { a, b, c, d in ((a * kh + c) * kw + d) * i + b }
    }

    /// Writes source element (a, b, c, d) (row-major over `t.shape`) to `destination(a, b, c, d)`.
    private static func permute(_ t: Tensor, to shape: [Int], destination: (Int, Int, Int, Int) -> Int) -> Tensor {
        var out = Tensor(shape: shape)
        let (n0, n1, n2, n3) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        t.scalars.withUnsafeBufferPointer { src in
            out.scalars.withUnsafeMutableBufferPointer { dst in
                var s = 0
                for a in 0..<n0 { for b in 0..<n1 { for c in 0..<n2 { for d in 0..<n3 {
                    dst[destination(a, b, c, d)] = src[s]
                    s += 1
                } } } }
            }
        }
        return out
    }
}
