// The per-element loops of BatchNorm2D over a [rows, C] view, eight channels at a time. Written as
// plain pointer loops the compiler keeps them scalar: the per-channel vectors might alias the rows
// (as in RowVector.swift). Each lane does the scalar loop's operations in the scalar loop's order, so
// results are bit for bit those of the plain loops; SIMD8 is AVX2 width, which every x86-64 host
// Glia runs on has (an AVX-512 host runs the same code).

@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// `y[r, c] = x[r, c]·s[c] + t[c]` for `r` in `rows`.
func scaleAndShift(_ x: UnsafePointer<Float>, scale s: UnsafePointer<Float>, shift t: UnsafePointer<Float>,
                   rows: Range<Int>, width: Int, into y: UnsafeMutablePointer<Float>) {
    let wide = width & ~7
    for r in rows {
        let xr = x + r &* width, yr = y + r &* width
        var c = 0
        while c < wide { store8(load8(xr + c) * load8(s + c) + load8(t + c), yr + c); c &+= 8 }
        while c < width { yr[c] = xr[c] * s[c] + t[c]; c &+= 1 }
    }
}

/// `block[c] += (x[r, c] − μ[c])²` for `r` in `rows`.
func addSquaredDeviations(_ x: UnsafePointer<Float>, mean mu: UnsafePointer<Float>, rows: Range<Int>, width: Int,
                          into block: UnsafeMutablePointer<Float>) {
    let wide = width & ~7
    for r in rows {
        let xr = x + r &* width
        var c = 0
        while c < wide {
            let d = load8(xr + c) - load8(mu + c)
            store8(load8(block + c) + d * d, block + c)
            c &+= 8
        }
        while c < width { let d = xr[c] - mu[c]; block[c] += d * d; c &+= 1 }
    }
}

/// `block[c] += dy[r, c]` and `block[C + c] += dy[r, c]·(x[r, c] − μ[c])` for `r` in `rows`.
func addGradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean mu: UnsafePointer<Float>,
                     rows: Range<Int>, width: Int, into block: UnsafeMutablePointer<Float>) {
    let wide = width & ~7
    let second = block + width
    for r in rows {
        let dr = dy + r &* width, xr = x + r &* width
        var c = 0
        while c < wide {
            let d = load8(dr + c)
            store8(load8(block + c) + d, block + c)
            store8(load8(second + c) + d * (load8(xr + c) - load8(mu + c)), second + c)
            c &+= 8
        }
        while c < width {
            block[c] += dr[c]
            second[c] += dr[c] * (xr[c] - mu[c])
            c &+= 1
        }
    }
}

/// `dx[r, c] = k[c]·(dy[r, c] − a[c]) − b[c]·(x[r, c] − μ[c])` for `r` in `rows`.
func batchNormInputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, k: UnsafePointer<Float>,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, mean mu: UnsafePointer<Float>,
                            rows: Range<Int>, width: Int, into dx: UnsafeMutablePointer<Float>) {
    let wide = width & ~7
    for r in rows {
        let dr = dy + r &* width, xr = x + r &* width, or = dx + r &* width
        var c = 0
        while c < wide {
            let v = load8(k + c) * (load8(dr + c) - load8(a + c)) - load8(b + c) * (load8(xr + c) - load8(mu + c))
            store8(v, or + c)
            c &+= 8
        }
        while c < width { or[c] = k[c] * (dr[c] - a[c]) - b[c] * (xr[c] - mu[c]); c &+= 1 }
    }
}
