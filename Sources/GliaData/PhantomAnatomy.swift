// PhantomAnatomy: renders one synthetic head, slice by slice, so that it reads as brain MRI.
//
// Geometry (pixels, 256x256 slice, z in [-1, 1] from the lowest to the highest slice): an elliptic
// head whose cross-section shrinks towards the ends like a sphere's; from the outside in: scalp,
// skull (dark in every sequence), a thin CSF rim, cortex (gray matter) and a white-matter core, with
// two ventricles in the middle slices. Texture is 3D value noise, so neighbouring slices agree.
// The tumor is a 3D blob with a lumpy boundary spanning about a third of the slices; its mask is
// exactly the pixels drawn as tumor.
//
// Channels follow the dataset: 0 = pre-contrast, 1 = FLAIR, 2 = post-contrast. Contrasts: the
// tumor is bright in FLAIR (the learnable cue, as in real LGG), slightly dark before contrast and
// rim-enhancing after; CSF and ventricles are dark in all three.
import GliaCore

/// Tissue intensities per channel (pre-contrast, FLAIR, post-contrast), 0-255.
private struct Tissue {
    static let scalp: SIMD3<Float> = [105, 85, 110]
    static let skull: SIMD3<Float> = [22, 18, 26]
    static let csf: SIMD3<Float> = [38, 30, 42]
    static let gray: SIMD3<Float> = [92, 112, 98]
    static let white: SIMD3<Float> = [128, 92, 132]
    static let tumor: SIMD3<Float> = [78, 220, 104]
    static let tumorRim: SIMD3<Float> = [86, 205, 178]
}

/// One phantom patient's anatomy, fixed by its random draws.
struct PhantomHead {
    let side: Int
    let sliceCount: Int
    let center: SIMD2<Float>
    let axes: SIMD2<Float>
    let tumorCenter: SIMD3<Float>  // x, y in pixels; z in slices
    let tumorRadii: SIMD3<Float>
    let lobes: [(k: Float, amplitude: Float, phase: Float)]
    let noise: ValueNoise3D
    let ventricleScale: Float
    /// Outline harmonics: egg (sin), ellipse tilt (cos 2, sin 2), lobes (cos 3), relative radius.
    let outline: (Float, Float, Float, Float)

    init(side: Int, sliceCount: Int, rng: inout RandomGenerator) {
        self.side = side
        self.sliceCount = sliceCount
        let s = Float(side)
        center = [s / 2 + rng.uniform(-5, 5), s / 2 + rng.uniform(-4, 6)]
        axes = [s * rng.uniform(0.34, 0.39), s * rng.uniform(0.41, 0.45)]
        // Tumor: off the midline, in one hemisphere, within the brain's middle band of slices.
        let side1: Float = rng.nextUniform() < 0.5 ? -1 : 1
        let rz = Float(sliceCount) * rng.uniform(0.14, 0.19)
        tumorCenter = [center.x + side1 * axes.x * rng.uniform(0.25, 0.5),
                       center.y + axes.y * rng.uniform(-0.45, 0.35),
                       Float(sliceCount - 1) * rng.uniform(0.35, 0.65)]
        tumorRadii = [s * rng.uniform(0.06, 0.11), s * rng.uniform(0.06, 0.11), rz]
        lobes = (0..<3).map { i in (k: Float(i + 2), amplitude: rng.uniform(0.06, 0.16), phase: rng.uniform(0, 6.283)) }
        noise = ValueNoise3D(rng: &rng)
        ventricleScale = rng.uniform(0.85, 1.15)
        outline = (rng.uniform(0.02, 0.06), rng.uniform(-0.03, 0.03), rng.uniform(-0.02, 0.02), rng.uniform(-0.015, 0.015))
    }

    /// z in [-1, 1] for slice `index`.
    func z(_ index: Int) -> Float { sliceCount > 1 ? 2 * Float(index) / Float(sliceCount - 1) - 1 : 0 }

    /// Whether slice `index` cuts the tumor at all (cheap, by its z extent).
    func tumorReaches(_ index: Int) -> Bool {
        abs(Float(index) - tumorCenter.z) < tumorRadii.z * 1.3
    }

    /// Renders slice `index`: 3-channel image and exact mask.
    func render(_ index: Int, rng: inout RandomGenerator) -> (SliceImage, SliceMask) {
        let n = side * side
        var pixels = [UInt8](repeating: 0, count: n * 3)
        var mask = [UInt8](repeating: 0, count: n)
        let zc = z(index)
        // The head's cross-section shrinks towards the top and bottom like a sphere's.
        let shrink = max(0.35, (1 - 0.75 * zc * zc).squareRoot())
        let ax = axes.x * shrink, ay = axes.y * shrink
        let skullIn: Float = 1 - 9 / ax, scalpIn: Float = 1 - 5 / ax, brainIn: Float = skullIn - 3 / ax
        let ventricles = abs(zc) < 0.45
        let dzT = (Float(index) - tumorCenter.z) / tumorRadii.z
        let tumorLevel = 1 - dzT * dzT  // squared cross-section radius at this slice, relative
        let nz = Float(index) * 0.35
        let seed = rng.next()
        for y in 0..<side {
            let dy = (Float(y) - center.y) / ay
            for x in 0..<side {
                let dx = (Float(x) - center.x) / ax
                let round = (dx * dx + dy * dy).squareRoot()
                // An egg-shaped, slightly irregular outline: low angular harmonics of the radius,
                // from cos/sin of the angle without atan2.
                let c = round > 0 ? dx / round : 1, sn = round > 0 ? dy / round : 0
                let rho = round * (1 + outline.0 * sn + outline.1 * (c * c - sn * sn) + outline.2 * 2 * sn * c
                                   + outline.3 * c * (4 * c * c - 3))
                let i = y * side + x
                guard rho < 1 else { continue }
                var value: SIMD3<Float>
                if rho >= scalpIn {
                    value = Tissue.scalp * smooth(1 - rho, 0, 2 / ax)
                } else if rho >= skullIn {
                    value = Tissue.skull
                } else if rho >= brainIn {
                    value = Tissue.csf
                } else {
                    let fx = Float(x) * 0.09, fy = Float(y) * 0.09
                    let t = noise.sample(fx, fy, nz)
                    let fine = noise.sample(fx * 3.1, fy * 3.1, nz * 2 + 7)
                    // Folded cortex: the gray/white border wanders with the noise.
                    let border = brainIn * (0.78 + 0.12 * t)
                    let wm = smooth(border - rho, 0, 0.03)
                    value = Tissue.gray + (Tissue.white - Tissue.gray) * wm
                    value *= 0.9 + 0.14 * t + 0.06 * fine
                    // The scanner's smooth intensity bias across the head.
                    value *= 0.94 + 0.12 * noise.sample(Float(x) * 0.012 + 3, Float(y) * 0.012, 9)
                    // Sulci: thin dark CSF lines where a mid-scale noise crosses its middle value,
                    // only in the cortex band.
                    let folds = noise.sample(fx * 1.7 + 11, fy * 1.7, nz + 5)
                    let sulcus = smooth(0.035 - abs(folds - 0.5), 0, 0.02) * (1 - wm)
                    value = mix(value, Tissue.csf, 0.5 * sulcus)
                    value = mix(Tissue.csf, value, smooth(brainIn - rho, 0, 2.5 / ax))
                    // Interhemispheric fissure: a dark midline from the front and back edges inwards.
                    let midline = abs(Float(x) - center.x - 2 * dy)
                    if midline < 2.5 && abs(dy) > 0.55 {
                        value = mix(value, Tissue.csf, smooth(2.5 - midline, 0, 1.5) * smooth(abs(dy) - 0.55, 0, 0.15))
                    }
                    if ventricles {
                        let v = ventricleWeight(x: Float(x), y: Float(y), zc: zc, shrink: shrink)
                        if v > 0 { value = mix(value, Tissue.csf, v) }
                    }
                    if tumorLevel > 0 {
                        let tx = (Float(x) - tumorCenter.x) / tumorRadii.x
                        let ty = (Float(y) - tumorCenter.y) / tumorRadii.y
                        let angle = atan2f(ty, tx)
                        var reach: Float = 1
                        for lobe in lobes { reach += lobe.amplitude * sinf(lobe.k * angle + lobe.phase) }
                        reach += 0.12 * (noise.sample(Float(x) * 0.15, Float(y) * 0.15, nz + 31) - 0.5)
                        let r2 = (tx * tx + ty * ty) / (reach * reach)
                        if r2 <= tumorLevel {
                            mask[i] = 1
                            let edge = smooth(1 - (r2 / tumorLevel).squareRoot(), 0, 0.25)
                            let core = Tissue.tumor * (0.92 + 0.12 * fine)
                            value = mix(Tissue.tumorRim, core, edge)
                        } else if r2 <= tumorLevel * 1.8 {
                            // Edema fringe: FLAIR stays raised just outside the mask.
                            let f = 1 - (r2 / tumorLevel - 1) / 0.8
                            value.y += 35 * f
                        }
                    }
                }
                let grain = Float(hash(seed, i) & 15) - 7.5
                let v = value + SIMD3(repeating: grain * 0.8)
                pixels[i * 3] = clampByte(v.x)
                pixels[i * 3 + 1] = clampByte(v.y)
                pixels[i * 3 + 2] = clampByte(v.z)
            }
        }
        return (SliceImage(width: side, height: side, channels: 3, pixels: pixels),
                SliceMask(width: side, height: side, pixels: mask))
    }

    /// 0...1 weight of the two lateral ventricles (crescent-like ellipses near the centre).
    private func ventricleWeight(x: Float, y: Float, zc: Float, shrink: Float) -> Float {
        let fade = 1 - abs(zc) / 0.45
        var w: Float = 0
        for sign: Float in [-1, 1] {
            let cx = center.x + sign * axes.x * 0.13, cy = center.y - axes.y * 0.05
            let rx = axes.x * 0.09 * ventricleScale * fade, ry = axes.y * 0.30 * ventricleScale * fade
            guard rx > 1, ry > 1 else { continue }
            // Slight tilt apart towards the front gives the butterfly shape.
            let dxr = (x - cx) + sign * 0.25 * (y - cy)
            let d = (dxr * dxr) / (rx * rx) + ((y - cy) * (y - cy)) / (ry * ry)
            w = max(w, smooth(1 - d, 0, 0.3))
        }
        return w
    }
}

/// Smooth 3D value noise on a 16^3 periodic lattice, values in [0, 1].
struct ValueNoise3D {
    private var lattice: [Float]
    private static let size = 16

    init(rng: inout RandomGenerator) {
        lattice = (0..<(Self.size * Self.size * Self.size)).map { _ in rng.nextUniform() }
    }

    func sample(_ x: Float, _ y: Float, _ z: Float) -> Float {
        let m = Self.size
        let xf = x.rounded(.down), yf = y.rounded(.down), zf = z.rounded(.down)
        let u = fade(x - xf), v = fade(y - yf), w = fade(z - zf)
        let x0 = (Int(xf) % m + m) % m, y0 = (Int(yf) % m + m) % m, z0 = (Int(zf) % m + m) % m
        let x1 = (x0 + 1) % m, y1 = (y0 + 1) % m, z1 = (z0 + 1) % m
        func at(_ a: Int, _ b: Int, _ c: Int) -> Float { lattice[(c * m + b) * m + a] }
        let c00 = at(x0, y0, z0) + (at(x1, y0, z0) - at(x0, y0, z0)) * u
        let c10 = at(x0, y1, z0) + (at(x1, y1, z0) - at(x0, y1, z0)) * u
        let c01 = at(x0, y0, z1) + (at(x1, y0, z1) - at(x0, y0, z1)) * u
        let c11 = at(x0, y1, z1) + (at(x1, y1, z1) - at(x0, y1, z1)) * u
        let c0 = c00 + (c10 - c00) * v, c1 = c01 + (c11 - c01) * v
        return c0 + (c1 - c0) * w
    }

    private func fade(_ t: Float) -> Float { t * t * (3 - 2 * t) }
}

/// 0 below `low`, 1 above `low + width`, linear between.
@inline(__always) private func smooth(_ x: Float, _ low: Float, _ width: Float) -> Float {
    min(1, max(0, (x - low) / width))
}

@inline(__always) private func mix(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ t: Float) -> SIMD3<Float> {
    a + (b - a) * t
}

@inline(__always) private func clampByte(_ v: Float) -> UInt8 { UInt8(min(255, max(0, v)).rounded()) }

/// A cheap per-pixel hash for film grain (deterministic, not statistical-quality).
@inline(__always) private func hash(_ seed: UInt64, _ i: Int) -> UInt64 {
    var h = seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
    h ^= h >> 29
    h &*= 0xBF58_476D_1CE4_E5B9
    return h ^ (h >> 32)
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
