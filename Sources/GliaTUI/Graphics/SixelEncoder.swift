// Sixel (foot, WezTerm, iTerm2, Windows Terminal 1.22+, xterm -ti vt340, tmux 3.4+ built with it):
// `ESC P q`, raster attributes `"1;1;W;H`, a palette of `#n;2;r;g;b` (components in percent), then
// bands of six pixel rows: per colour `#n` and one character per column (63 + the six bits, top
// pixel = bit 0), runs of four or more as `!count char`, `$` back to the band's start for the next
// colour and `-` to the next band; `ESC \` ends it. Sixel has no scaling: every screen pixel is sent.
//
// The palette is fixed, so no image needs a pass to build one: 64 grays (the slice itself) and a
// 6x6x5 colour cube (overlays and the composite), 244 entries of the 256 registers terminals give.

/// Encodes rasters as sixel images.
public enum SixelEncoder {
    /// Gray levels in the palette (entries 0..<grays).
    static let grays = 64
    /// Colour cube sides: red, green, blue.
    static let cube = (6, 6, 5)
    /// Palette size.
    public static let paletteSize = grays + 6 * 6 * 5

    /// The palette entry that stands for `c`: a gray entry for grays, else the nearest cube colour.
    public static func paletteIndex(_ c: RGB) -> Int {
        if c.r == c.g && c.g == c.b { return (Int(c.r) * (grays - 1) + 127) / 255 }
        func level(_ v: UInt8, _ n: Int) -> Int { (Int(v) * (n - 1) + 127) / 255 }
        return grays + (level(c.r, cube.0) * cube.1 + level(c.g, cube.1)) * cube.2 + level(c.b, cube.2)
    }

    /// The colour of palette entry `index`, 0...255 per component.
    public static func paletteColor(_ index: Int) -> RGB {
        if index < grays {
            let v = UInt8((index * 255 + (grays - 1) / 2) / (grays - 1))
            return RGB(v, v, v)
        }
        let i = index - grays
        func value(_ l: Int, _ n: Int) -> UInt8 { UInt8((l * 255 + (n - 1) / 2) / (n - 1)) }
        return RGB(value(i / (cube.1 * cube.2), cube.0), value((i / cube.2) % cube.1, cube.1), value(i % cube.2, cube.2))
    }

    /// The whole sixel image for `raster`.
    public static func encode(_ raster: Raster) -> [UInt8] {
        let width = raster.width, height = raster.height
        var out = [UInt8]()
        out.reserveCapacity(width * height / 2)
        func append(_ s: String) { out.append(contentsOf: s.utf8) }
        func number(_ n: Int) {
            if n >= 10 { number(n / 10) }
            out.append(UInt8(48 + n % 10))
        }
        let indices = raster.pixels.map(paletteIndex)
        append("\u{1B}Pq\"1;1;\(width);\(height)")
        var defined = [Bool](repeating: false, count: paletteSize)
        for i in indices { defined[i] = true }
        for i in 0..<paletteSize where defined[i] {
            let c = paletteColor(i)
            func percent(_ v: UInt8) -> Int { (Int(v) * 100 + 127) / 255 }
            append("#\(i);2;\(percent(c.r));\(percent(c.g));\(percent(c.b))")
        }
        // Per band: the six-bit column values of each colour present, and where each colour starts and ends.
        var bits = [UInt8](repeating: 0, count: paletteSize * width)
        var first = [Int](repeating: Int.max, count: paletteSize), last = [Int](repeating: -1, count: paletteSize)
        var used: [Int] = []
        for top in stride(from: 0, to: height, by: 6) {
            used.removeAll(keepingCapacity: true)
            for dy in 0..<min(6, height - top) {
                let row = (top + dy) * width
                for x in 0..<width {
                    let c = indices[row + x]
                    if last[c] < 0 { used.append(c) }
                    bits[c * width + x] |= 1 << dy
                    first[c] = min(first[c], x)
                    last[c] = max(last[c], x)
                }
            }
            for (k, c) in used.enumerated() {
                out.append(UInt8(ascii: "#"))
                number(c)
                var x = 0
                let base = c * width
                func run(_ value: UInt8, _ count: Int) {
                    if count >= 4 {
                        out.append(UInt8(ascii: "!"))
                        number(count)
                        out.append(63 + value)
                    } else {
                        for _ in 0..<count { out.append(63 + value) }
                    }
                }
                if first[c] > 0 { run(0, first[c]) }
                x = first[c]
                while x <= last[c] {
                    let value = bits[base + x]
                    var end = x + 1
                    while end <= last[c] && bits[base + end] == value { end += 1 }
                    run(value, end - x)
                    x = end
                }
                for i in first[c]...last[c] { bits[base + i] = 0 }
                first[c] = Int.max
                last[c] = -1
                out.append(UInt8(ascii: k == used.count - 1 ? "-" : "$"))
            }
        }
        append("\u{1B}\\")
        return out
    }
}
