// Mapping 24-bit colours onto the xterm 256-colour palette, skipping the first 16 entries.
//
// Entries 0-15 are the "system" colours every terminal theme redefines, so the same index can be
// anything on the user's screen. Entries 16-231 (a 6x6x6 cube, levels 0,95,135,175,215,255) and
// 232-255 (a gray ramp 8..238 in steps of 10) are fixed by convention, so we only use those 240.

/// Nearest-colour lookup into palette entries 16...255.
public enum Palette256 {
    private static let levels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The palette index (16...255) closest to `color` (squared RGB distance).
    public static func index(for color: RGB) -> Int {
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
