// Winograd: stride-1 3x3 convolutions with 16/36 of the multiplies, F(2x2, 3x3) (Lavin & Gray 2016).
//
// For a 2x2 block of outputs (a "tile"), d the 4x4 input patch under it and g one 3x3 filter:
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 −1 −1]
// The sum over input channels moves into the transformed domain: for each of the 16 positions
// ξ = 4i + j of the 4x4 transform, M_ξ[tiles, Cout] = V_ξ[tiles, Cin] · U_ξ[Cout, Cin]ᵀ is one GEMM.
// Sixteen GEMMs with K = Cin over a quarter of the rows replace im2col's one with K = 9·Cin.
//
// Layout: filters U [16, Cout, Cin] (`WinogradFilters`, made once per weights); per block of tiles,
// V [16, tiles, Cin] and M [16, tiles, Cout] in the worker's scratch. Tiles run (b, ty, tx) row-major
// over ⌈Ho/2⌉ x ⌈Wo/2⌉ per image; tile (ty, tx) reads the patch at (2ty − p, 2tx − p), zero outside the
// image, and outputs past Ho or Wo (odd sizes) are dropped. Channels are NHWC's fastest axis, so the
// transforms work on 8 channels at once, which needs Cin and Cout to be multiples of 8.
//
// Rounding: the transforms only add, subtract and halve, and each output sums 16·Cin products instead
// of 9·Cin; `WinogradTests` measures the error against float64 and holds it to the direct path's scale.
//
// Inference uses F(4x4, 3x3) where the output has enough 4x4 tiles (WinogradF4.swift: 36/144 of the
// multiplies); training and dx keep F(2x2, 3x3).

/// The output tile of a Winograd convolution.
enum WinogradTile: Sendable {
    /// F(2x2, 3x3): 4x4 patches, 16 planes.
    case two
    /// F(4x4, 3x3): 6x6 patches, 36 planes.
    case four

    /// Output pixels per tile side.
    var side: Int { self == .two ? 2 : 4 }
    /// Positions of the transform: (side + 2)².
    var planes: Int { self == .two ? 16 : 36 }
}

/// Whether, and how, a convolution runs as Winograd.
enum Winograd {
    /// Minimum tiles per worker: below it the 16 thin GEMMs lose to one im2col GEMM.
    static let minimumTilesPerWorker = 16
    /// Upper bound on one block's V and M scratch (floats): 2 MB, about a core's L2. Blocks of at least
    /// 96 tiles (up to 14 MB for 512 channels, to pack each filter plane fewer times) measured no faster
    /// in `glia bench models` (ResNet-18 inference 60-61 against 65-70 img/s).
    static let blockElements = 1 << 19

    /// Minimum input and output channels: with fewer, the GEMMs' K = Cin is too short to run at
    /// speed (16 -> 16 at batch 16 measured 54 ms against im2col's 50).
    static let minimumChannels = 32

    /// True where `g` with `outputs` channels runs as Winograd with `tile`: 3x3, stride 1, channels
    /// in multiples of 8 and at least `minimumChannels`, and enough tiles for every worker.
    static func applies(to g: ConvGeometry, outputs: Int, tile: WinogradTile) -> Bool {
        guard g.kernel == 3, g.stride == 1, g.channels % 8 == 0, outputs % 8 == 0,
              min(g.channels, outputs) >= minimumChannels else { return false }
        return tileCount(g, tile) >= minimumTilesPerWorker * ParallelConfig.workerCount
    }

    /// Tiles over the whole batch: N·⌈Ho/side⌉·⌈Wo/side⌉.
    static func tileCount(_ g: ConvGeometry, _ tile: WinogradTile) -> Int {
        g.batch * ((g.outHeight + tile.side - 1) / tile.side) * ((g.outWidth + tile.side - 1) / tile.side)
    }

    /// y[N, Ho, Wo, Cout] = conv(x, filters), then `pass` per output pixel; with `turned`, the
    /// convolution with the filters turned around and their channels swapped (dx of Conv2D), from
    /// the same planes. `y` may be uninitialised.
    static func convolve(_ x: UnsafePointer<Float>, _ g: ConvGeometry, filters: WinogradFilters, turned: Bool = false,
                         pass: OutputPass, into y: UnsafeMutablePointer<Float>) {
        let cin = turned ? filters.outChannels : filters.inChannels
        let cout = turned ? filters.inChannels : filters.outChannels
        let tile = filters.tile, planes = tile.planes
        precondition(g.kernel == 3 && g.stride == 1 && cin == g.channels && !(turned && tile == .four),
                     "not a Winograd convolution")
        let tiles = tileCount(g, tile)
        let perTile = planes * (cin + cout)
        let workers = ParallelConfig.workerCount
        let block = max(1, min(blockElements / perTile, (tiles + workers - 1) / workers))
        let blocks = (tiles + block - 1) / block
        filters.values.withUnsafeBufferPointer { up in
            let u = up.baseAddress!
            parallelFor(blocks, minimumChunk: 1) { range in
                withThreadScratch(count: block * perTile) { scratch in
                    for index in range {
                        let first = index * block, count = min(tiles, first + block) - first
                        let v = scratch, m = scratch + planes * count * cin
                        let span = first..<(first + count)
                        switch tile {
                        case .two: transformInput(x, g, tiles: span, into: v)
                        case .four: transformInputF4(x, g, tiles: span, into: v)
                        }
                        for xi in 0..<planes {
                            // Forward: U_ξ is [Cout, Cin]; turned: plane turnedPlane(ξ) is [Cin', Cout'].
                            let plane = u + (turned ? WinogradFilters.turnedPlane(xi) : xi) * cout * cin
                            BLAS.gemm(transposeB: !turned, m: count, n: cout, k: cin,
                                      a: v + xi * count * cin, lda: cin, b: plane, ldb: turned ? cout : cin,
                                      c: m + xi * count * cout, ldc: cout)
                        }
                        switch tile {
                        case .two: transformOutput(m, g, outputs: cout, tiles: span, pass: pass, into: y)
                        case .four: transformOutputF4(m, g, outputs: cout, tiles: span, pass: pass, into: y)
                        }
                    }
                }
            }
        }
    }

    /// The (image, tile row, tile column) of tile `t`.
    static func position(of t: Int, _ g: ConvGeometry, _ tile: WinogradTile) -> (b: Int, ty: Int, tx: Int) {
        let tilesHigh = (g.outHeight + tile.side - 1) / tile.side, tilesWide = (g.outWidth + tile.side - 1) / tile.side
        return (t / (tilesHigh * tilesWide), (t / tilesWide) % tilesHigh, t % tilesWide)
    }

    /// Adds the pass's bias and residual to output pixel (b, oy, ox)'s channels `channel ..< channel + 8`,
    /// applies its ReLU and stores them; pixels past the output (a partial last tile) are dropped.
    @inline(__always)
    static func finish(_ value: SIMD8<Float>, _ g: ConvGeometry, b: Int, oy: Int, ox: Int, channel: Int,
                       outputs cout: Int, pass: OutputPass, into y: UnsafeMutablePointer<Float>) {
        guard oy < g.outHeight, ox < g.outWidth else { return }
        let row = (b * g.outHeight + oy) * g.outWidth + ox
        var out = value
        if let bias = pass.bias { out += loadEight(bias + channel) }
        if let residual = pass.residual { out += loadEight(residual + row * cout + channel) }
        if pass.relu { out.replace(with: 0, where: out .< 0) }
        storeEight(out, y + row * cout + channel)
    }

    /// Channels `c ..< c + 8` of pixel (iy, ix) of one image of `g`'s input, zero in the padding.
    @inline(__always)
    static func pixel(_ image: UnsafePointer<Float>, _ g: ConvGeometry, _ iy: Int, _ ix: Int, _ c: Int) -> SIMD8<Float> {
        if iy < 0 || iy >= g.height || ix < 0 || ix >= g.width { return SIMD8() }
        return loadEight(image + (iy * g.width + ix) * g.channels + c)
    }

    /// V[ξ, local tile, c] = (Bᵀ d B)[ξ] for each tile of `tiles`, 8 channels at a time.
    private static func transformInput(_ x: UnsafePointer<Float>, _ g: ConvGeometry, tiles: Range<Int>,
                                       into v: UnsafeMutablePointer<Float>) {
        let (h, w, cin) = (g.height, g.width, g.channels)
        let plane = tiles.count * cin
        for t in tiles {
            let (b, ty, tx) = position(of: t, g, .two)
            let y0 = 2 * ty - g.padding, x0 = 2 * tx - g.padding
            let image = x + b * h * w * cin
            let out = v + (t - tiles.lowerBound) * cin
            var c = 0
            while c < cin {
                @inline(__always) func d(_ i: Int, _ j: Int) -> SIMD8<Float> { pixel(image, g, y0 + i, x0 + j, c) }
                // Columns of Bᵀ d, one column j at a time, then each row of (Bᵀ d) times B.
                let d00 = d(0, 0), d01 = d(0, 1), d02 = d(0, 2), d03 = d(0, 3)
                let d10 = d(1, 0), d11 = d(1, 1), d12 = d(1, 2), d13 = d(1, 3)
                let d20 = d(2, 0), d21 = d(2, 1), d22 = d(2, 2), d23 = d(2, 3)
                let d30 = d(3, 0), d31 = d(3, 1), d32 = d(3, 2), d33 = d(3, 3)
                let t00 = d00 - d20, t01 = d01 - d21, t02 = d02 - d22, t03 = d03 - d23
                let t10 = d10 + d20, t11 = d11 + d21, t12 = d12 + d22, t13 = d13 + d23
                let t20 = d20 - d10, t21 = d21 - d11, t22 = d22 - d12, t23 = d23 - d13
                let t30 = d10 - d30, t31 = d11 - d31, t32 = d12 - d32, t33 = d13 - d33
                @inline(__always) func row(_ i: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>, _ e: SIMD8<Float>, _ f: SIMD8<Float>) {
                    let base = out + 4 * i * plane + c
                    storeEight(a - e, base)
                    storeEight(b + e, base + plane)
                    storeEight(e - b, base + 2 * plane)
                    storeEight(b - f, base + 3 * plane)
                }
                row(0, t00, t01, t02, t03)
                row(1, t10, t11, t12, t13)
                row(2, t20, t21, t22, t23)
                row(3, t30, t31, t32, t33)
                c += 8
            }
        }
    }

    /// y = Aᵀ M A per tile and 8 output channels, then bias, residual and ReLU, storing the pixels
    /// inside the output.
    private static func transformOutput(_ m: UnsafePointer<Float>, _ g: ConvGeometry, outputs cout: Int,
                                        tiles: Range<Int>, pass: OutputPass, into y: UnsafeMutablePointer<Float>) {
        let plane = tiles.count * cout
        for t in tiles {
            let (b, ty, tx) = position(of: t, g, .two)
            let oy = 2 * ty, ox = 2 * tx
            let tile = m + (t - tiles.lowerBound) * cout
            var c = 0
            while c < cout {
                @inline(__always) func mv(_ i: Int, _ j: Int) -> SIMD8<Float> { loadEight(tile + (4 * i + j) * plane + c) }
                // Rows of Aᵀ M (two), each a 4-vector over j.
                let s0 = (mv(0, 0) + mv(1, 0) + mv(2, 0), mv(0, 1) + mv(1, 1) + mv(2, 1),
                          mv(0, 2) + mv(1, 2) + mv(2, 2), mv(0, 3) + mv(1, 3) + mv(2, 3))
                let s1 = (mv(1, 0) - mv(2, 0) - mv(3, 0), mv(1, 1) - mv(2, 1) - mv(3, 1),
                          mv(1, 2) - mv(2, 2) - mv(3, 2), mv(1, 3) - mv(2, 3) - mv(3, 3))
                finish(s0.0 + s0.1 + s0.2, g, b: b, oy: oy, ox: ox, channel: c, outputs: cout, pass: pass, into: y)
                finish(s0.1 - s0.2 - s0.3, g, b: b, oy: oy, ox: ox + 1, channel: c, outputs: cout, pass: pass, into: y)
                finish(s1.0 + s1.1 + s1.2, g, b: b, oy: oy + 1, ox: ox, channel: c, outputs: cout, pass: pass, into: y)
                finish(s1.1 - s1.2 - s1.3, g, b: b, oy: oy + 1, ox: ox + 1, channel: c, outputs: cout, pass: pass, into: y)
                c += 8
            }
        }
    }
}

/// A convolution's 3x3 filters in the Winograd domain, U = G g Gᵀ: `[planes, Cout, Cin]`.
///
/// F(2x2, 3x3)'s planes also serve dx, the convolution of dy with the filters turned around (Conv2D.swift):
/// turning g by 180° turns G g Gᵀ into Q (G g Gᵀ) Qᵀ with Q swapping rows 0 and 3 (G's middle rows
/// are symmetric), so plane ξ = (i, j) of the turned filters is plane (q(i), q(j)) read transposed.
struct WinogradFilters {
    let outChannels: Int, inChannels: Int
    let tile: WinogradTile
    let values: [Float]

    /// Transforms `weights` `[Cout, 3, 3, Cin]` (OHWI) for `tile` (Cin % 8 == 0).
    init(weights: UnsafePointer<Float>, outChannels: Int, inChannels: Int, tile: WinogradTile = .two) {
        precondition(inChannels % 8 == 0, "Winograd filters need input channels in eights, got \(inChannels)")
        self.outChannels = outChannels; self.inChannels = inChannels; self.tile = tile
        switch tile {
        case .two: values = Self.transformF2(weights, outChannels: outChannels, inChannels: inChannels)
        case .four: values = Self.transformF4(weights, outChannels: outChannels, inChannels: inChannels)
        }
    }

    /// U = G g Gᵀ (4x4) for every filter, 8 input channels at a time: `[16, Cout, Cin]`.
    static func transformF2(_ weights: UnsafePointer<Float>, outChannels: Int, inChannels: Int) -> [Float] {
        let plane = outChannels * inChannels
        return [Float](unsafeUninitializedCapacity: 16 * plane) { u, count in
            let u = u.baseAddress!
            for o in 0..<outChannels {
                var ci = 0
                while ci < inChannels {
                    @inline(__always) func g(_ ky: Int, _ kx: Int) -> SIMD8<Float> {
                        loadEight(weights + ((o * 3 + ky) * 3 + kx) * inChannels + ci)
                    }
                    // The columns kx of t = G g, four rows each; then row i of t times Gᵀ.
                    @inline(__always) func column(_ kx: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                        let (a, b, c) = (g(0, kx), g(1, kx), g(2, kx))
                        return (a, (a + b + c) * 0.5, (a - b + c) * 0.5, c)
                    }
                    @inline(__always) func row(_ i: Int, _ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>) {
                        let base = u + 4 * i * plane + o * inChannels + ci
                        storeEight(r0, base)
                        storeEight((r0 + r1 + r2) * 0.5, base + plane)
                        storeEight((r0 - r1 + r2) * 0.5, base + 2 * plane)
                        storeEight(r2, base + 3 * plane)
                    }
                    let c0 = column(0), c1 = column(1), c2 = column(2)
                    row(0, c0.0, c1.0, c2.0)
                    row(1, c0.1, c1.1, c2.1)
                    row(2, c0.2, c1.2, c2.2)
                    row(3, c0.3, c1.3, c2.3)
                    ci += 8
                }
            }
            count = 16 * plane
        }
    }

    /// The plane holding the turned-around filters' position `xi` (see the type's comment).
    static func turnedPlane(_ xi: Int) -> Int {
        @inline(__always) func q(_ i: Int) -> Int { i == 0 ? 3 : i == 3 ? 0 : i }
        return 4 * q(xi / 4) + q(xi % 4)
    }
}

/// Eight floats from `p`, which need not be aligned (the Winograd transforms' channel runs).
@inline(__always) func loadEight(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Eight floats from `p`, which need not be aligned.
@inline(__always) func loadEight(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores eight floats at `p`, which need not be aligned.
@inline(__always) func storeEight(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
