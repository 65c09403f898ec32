// Winograd F(4x4, 3x3): 4x4 output tiles from 6x6 input patches, 36 GEMMs with K = Cin over a
// sixteenth of the output pixels: 36/144 of the direct multiplies, against F(2x2, 3x3)'s 16/36.
// The interpolation points are 0, ±1, ±2 and ∞ (Lavin & Gray 2016):
//
//   Bᵀ = [4  0 −5  0 1 0;  0 −4 −4  1 1 0;  0 4 −4 −1 1 0;  0 −2 −1 2 1 0;  0 2 −1 −2 1 0;  0 4 0 −5 0 1]
//   G  = [¼ 0 0;  −⅙ −⅙ −⅙;  −⅙ ⅙ −⅙;  1/24 1/12 ⅙;  1/24 −1/12 ⅙;  0 0 1]
//   Aᵀ = [1 1 1 1 1 0;  0 1 −1 2 −2 0;  0 1 1 4 4 0;  0 1 −1 8 −8 1]
//
// Layout and tiling as F(2x2, 3x3) (Winograd.swift) with 4 for 2 and 36 planes for 16. The larger
// coefficients cost rounding: each output carries a few times F(2x2, 3x3)'s error, still under
// im2col's scale in `WinogradTests`. Inference only: training keeps F(2x2, 3x3), whose planes also
// serve dx.

extension Winograd {
    /// Bᵀ applied to one column (or row) of a 6x6 patch.
    @inline(__always)
    private static func inputColumn(_ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>,
                                    _ d4: SIMD8<Float>, _ d5: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        (4 * d0 - 5 * d2 + d4,
         d3 + d4 - 4 * (d1 + d2),
         d4 - d3 + 4 * (d1 - d2),
         d4 - d2 + 2 * (d3 - d1),
         d4 - d2 + 2 * (d1 - d3),
         4 * d1 - 5 * d3 + d5)
    }

    /// Aᵀ applied to one column (or row) of a 6x6 product.
    @inline(__always)
    private static func outputColumn(_ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>,
                                     _ m4: SIMD8<Float>, _ m5: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4
        return (m0 + sum12 + sum34, diff12 + 2 * diff34, sum12 + 4 * sum34, diff12 + 8 * diff34 + m5)
    }

    /// V[ξ, local tile, c] = (Bᵀ d B)[ξ], ξ = 6i + j, for each tile of `tiles`, 8 channels at a time.
    static func transformInputF4(_ x: UnsafePointer<Float>, _ g: ConvGeometry, tiles: Range<Int>,
                                 into v: UnsafeMutablePointer<Float>) {
        let (h, w, cin) = (g.height, g.width, g.channels)
        let plane = tiles.count * cin
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 36) { buffer in
            let t = buffer.baseAddress!
            for tile in tiles {
                let (b, ty, tx) = position(of: tile, g, .four)
                let y0 = 4 * ty - g.padding, x0 = 4 * tx - g.padding
                let image = x + b * h * w * cin
                let out = v + (tile - tiles.lowerBound) * cin
                var c = 0
                while c < cin {
                    @inline(__always) func d(_ i: Int, _ j: Int) -> SIMD8<Float> { pixel(image, g, y0 + i, x0 + j, c) }
                    for j in 0..<6 {
                        let r = inputColumn(d(0, j), d(1, j), d(2, j), d(3, j), d(4, j), d(5, j))
                        t[j] = r.0; t[6 + j] = r.1; t[12 + j] = r.2; t[18 + j] = r.3; t[24 + j] = r.4; t[30 + j] = r.5
                    }
                    for i in 0..<6 {
                        let row = t + 6 * i
                        let r = inputColumn(row[0], row[1], row[2], row[3], row[4], row[5])
                        let base = out + 6 * i * plane + c
                        storeEight(r.0, base); storeEight(r.1, base + plane); storeEight(r.2, base + 2 * plane)
                        storeEight(r.3, base + 3 * plane); storeEight(r.4, base + 4 * plane); storeEight(r.5, base + 5 * plane)
                    }
                    c += 8
                }
            }
        }
    }

    /// y = Aᵀ M A per tile and 8 output channels, then the pass, storing the pixels inside the output.
    static func transformOutputF4(_ m: UnsafePointer<Float>, _ g: ConvGeometry, outputs cout: Int,
                                  tiles: Range<Int>, pass: OutputPass, into y: UnsafeMutablePointer<Float>) {
        let plane = tiles.count * cout
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 24) { buffer in
            let s = buffer.baseAddress!
            for tile in tiles {
                let (b, ty, tx) = position(of: tile, g, .four)
                let source = m + (tile - tiles.lowerBound) * cout
                var c = 0
                while c < cout {
                    @inline(__always) func mv(_ i: Int, _ j: Int) -> SIMD8<Float> { loadEight(source + (6 * i + j) * plane + c) }
                    for j in 0..<6 {
                        let r = outputColumn(mv(0, j), mv(1, j), mv(2, j), mv(3, j), mv(4, j), mv(5, j))
                        s[j] = r.0; s[6 + j] = r.1; s[12 + j] = r.2; s[18 + j] = r.3
                    }
                    for i in 0..<4 {
                        let row = s + 6 * i
                        let r = outputColumn(row[0], row[1], row[2], row[3], row[4], row[5])
                        let oy = 4 * ty + i, ox = 4 * tx
                        finish(r.0, g, b: b, oy: oy, ox: ox, channel: c, outputs: cout, pass: pass, into: y)
                        finish(r.1, g, b: b, oy: oy, ox: ox + 1, channel: c, outputs: cout, pass: pass, into: y)
                        finish(r.2, g, b: b, oy: oy, ox: ox + 2, channel: c, outputs: cout, pass: pass, into: y)
                        finish(r.3, g, b: b, oy: oy, ox: ox + 3, channel: c, outputs: cout, pass: pass, into: y)
                    }
                    c += 8
                }
            }
        }
    }
}

extension WinogradFilters {
    /// U = G g Gᵀ (6x6) for every filter, in double, rounded once: `[36, Cout, Cin]`.
    static func transformF4(_ weights: UnsafePointer<Float>, outChannels: Int, inChannels: Int) -> [Float] {
        let plane = outChannels * inChannels
        let sixth = 1.0 / 6, twelfth = 1.0 / 12, twentyFourth = 1.0 / 24
        @inline(__always) func column(_ a: Double, _ b: Double, _ c: Double) -> SIMD8<Double> {
            SIMD8(a / 4, -(a + b + c) * sixth, -(a - b + c) * sixth,
                  a * twentyFourth + b * twelfth + c * sixth, a * twentyFourth - b * twelfth + c * sixth, c, 0, 0)
        }
        return [Float](unsafeUninitializedCapacity: 36 * plane) { u, count in
            for o in 0..<outChannels {
                for ci in 0..<inChannels {
                    @inline(__always) func gv(_ ky: Int, _ kx: Int) -> Double {
                        Double(weights[((o * 3 + ky) * 3 + kx) * inChannels + ci])
                    }
                    // Columns kx of t = G g (6 rows each), then row i of t times Gᵀ.
                    let t0 = column(gv(0, 0), gv(1, 0), gv(2, 0))
                    let t1 = column(gv(0, 1), gv(1, 1), gv(2, 1))
                    let t2 = column(gv(0, 2), gv(1, 2), gv(2, 2))
                    for i in 0..<6 {
                        let row = column(t0[i], t1[i], t2[i])
                        for j in 0..<6 { u[(6 * i + j) * plane + o * inChannels + ci] = Float(row[j]) }
                    }
                }
            }
            count = 36 * plane
        }
    }
}
