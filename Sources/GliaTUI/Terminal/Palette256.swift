// Mapping 24-bit colours onto the xterm 256-colour palette, skipping the first 16 entries.
//
// Entries 0-15 are the "system" colours every terminal theme redefines, so the same index can be
// anything on the user's screen. Entries 16-231 (a 6x6x6 cube, levels 0,95,135,175,215,255) and
// 232-255 (a gray ramp 8..238 in steps of 10) are fixed by convention, so we only use those 240.
//
// Hue: the plain nearest colour (squared RGB distance) often is a gray for a muted colour, because
// the gray ramp is ten times finer than the cube. An overlay blended over a dark image (red fill at
// 45% over a windowed pre-contrast slice gives about (120, 44, 44)) then turned into grays 238/239
// and the mask vanished. So a colour with visible chroma keeps its hue: among the cube corners
// around it (each component rounded down or up to a level) the closest one whose hue is within
// 30 degrees wins over the nearest gray if it is about as bright (a dark red tint and the cube's
// darkest red, 95/0/0, have the same luma) or not much farther; otherwise the gray stays.

/// Nearest-colour lookup into palette entries 16...255.
public enum Palette256 {
    private static let levels: [Int] = [0, 95, 135, 175, 215, 255]
    /// Chroma (max - min component) from which a colour counts as having a hue to keep.
    static let chromaticThreshold = 16
    /// A hue-keeping entry may be at most this many times farther (squared) than the nearest one...
    static let hueDistanceFactor = 3
    /// ...or differ from the colour's luma by at most this much.
    static let hueLumaTolerance = 16

    /// The palette index (16...255) closest to `color` that keeps its hue (see above).
    public static func index(for color: RGB) -> Int {
        let nearest = nearestIndex(color)
        guard chroma(color) >= chromaticThreshold else { return nearest }
        let nearestColor = Self.color(at: nearest)
        if keepsHue(color, nearestColor) { return nearest }
        let limit = hueDistanceFactor * distance(color, nearestColor)
        var best: (index: Int, distance: Int)?
        for ri in around(Int(color.r)) {
            for gi in around(Int(color.g)) {
                for bi in around(Int(color.b)) {
                    let candidate = RGB(UInt8(levels[ri]), UInt8(levels[gi]), UInt8(levels[bi]))
                    guard keepsHue(color, candidate) else { continue }
                    let d = distance(color, candidate)
                    let alike = d <= limit || abs(color.luma - candidate.luma) <= hueLumaTolerance
                    if alike, d < (best?.distance ?? Int.max) { best = (16 + 36 * ri + 6 * gi + bi, d) }
                }
            }
        }
        return best?.index ?? nearest
    }

    /// The plain nearest entry by squared RGB distance (cube or gray ramp).
    static func nearestIndex(_ color: RGB) -> Int {
        let r = Int(color.r), g = Int(color.g), b = Int(color.b)
        let ri = nearestLevel(r), gi = nearestLevel(g), bi = nearestLevel(b)
        let cube = RGB(UInt8(levels[ri]), UInt8(levels[gi]), UInt8(levels[bi]))
        let cubeIndex = 16 + 36 * ri + 6 * gi + bi
        // Gray ramp entry closest to the mean intensity.
        let mean = (r + g + b) / 3
        let grayStep = max(0, min(23, (mean - 3) / 10))
        let grayLevel = 8 + 10 * grayStep
        let gray = RGB(UInt8(grayLevel), UInt8(grayLevel), UInt8(grayLevel))
        return distance(color, gray) < distance(color, cube) ? 232 + grayStep : cubeIndex
    }

    /// The colour a palette index 16...255 stands for.
    public static func color(at index: Int) -> RGB {
        if index >= 232 {
            let v = UInt8(8 + 10 * (index - 232))
            return RGB(v, v, v)
        }
        let i = index - 16
        return RGB(UInt8(levels[i / 36]), UInt8(levels[(i / 6) % 6]), UInt8(levels[i % 6]))
    }

    /// Whether `candidate` has a hue and it lies within 30 degrees of `color`'s.
    static func keepsHue(_ color: RGB, _ candidate: RGB) -> Bool {
        guard chroma(candidate) > 0 else { return false }
        let difference = abs(hue(color) - hue(candidate))
        return min(difference, 360 - difference) <= 30
    }

    /// Max minus min component: 0 for grays.
    static func chroma(_ c: RGB) -> Int { Int(max(c.r, c.g, c.b)) - Int(min(c.r, c.g, c.b)) }

    /// Hue angle in degrees, 0..<360 (red 0, green 120, blue 240); 0 for grays.
    static func hue(_ c: RGB) -> Double {
        let r = Double(c.r), g = Double(c.g), b = Double(c.b)
        let high = max(r, g, b), delta = high - min(r, g, b)
        guard delta > 0 else { return 0 }
        let sector: Double
        if high == r {
            sector = (g - b) / delta
        } else if high == g {
            sector = (b - r) / delta + 2
        } else {
            sector = (r - g) / delta + 4
        }
        let degrees = sector * 60
        return degrees < 0 ? degrees + 360 : degrees
    }

    /// The cube levels at or just below and above `v`.
    private static func around(_ v: Int) -> [Int] {
        let upper = levels.firstIndex { $0 >= v } ?? levels.count - 1
        return upper > 0 && levels[upper] != v ? [upper - 1, upper] : [upper]
    }

    private static func nearestLevel(_ v: Int) -> Int {
        // Midpoints between the cube levels: 48, 115, 155, 195, 235.
        if v < 48 { return 0 }
        if v < 115 { return 1 }
        return min(5, (v - 35) / 40)
    }

    private static func distance(_ a: RGB, _ b: RGB) -> Int {
        let dr = Int(a.r) - Int(b.r), dg = Int(a.g) - Int(b.g), db = Int(a.b) - Int(b.b)
        return dr * dr + dg * dg + db * db
    }
}
