// Adding a per-channel vector to every row of a [rows, width] matrix (bias terms in NHWC).
// Written with explicit SIMD: the compiler keeps a plain pointer loop scalar because the vector
// might alias the matrix.

/// `m[r, c] += v[c]` for `r < rows`, serially (callers parallelise over blocks).
@inlinable
public func addRowVector(_ v: UnsafePointer<Float>, rows: Int, width: Int, to m: UnsafeMutablePointer<Float>) {
    let wide = width & ~7
    for r in 0..<rows {
        let row = m + r &* width
        var c = 0
        while c < wide {
            let sum = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD8<Float>.self)
                + UnsafeRawPointer(v + c).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(row + c).storeBytes(of: sum, as: SIMD8<Float>.self)
            c &+= 8
        }
        while c < width { row[c] += v[c]; c &+= 1 }
    }
}

/// `y[r, c] += v[c]` for every row of a tensor whose last axis has `v.count` elements, in parallel.
func addRowVector(_ v: Tensor, to y: inout Tensor) {
    let c = v.count
    let rows = y.count / max(1, c)
    v.scalars.withUnsafeBufferPointer { vp in
        y.scalars.withUnsafeMutableBufferPointer { yp in
            guard let base = yp.baseAddress, let vb = vp.baseAddress else { return }
            parallelFor(rows, minimumChunk: max(1, 65536 / max(1, c))) { part in
                addRowVector(vb, rows: part.count, width: c, to: base + part.lowerBound * c)
            }
        }
    }
}
