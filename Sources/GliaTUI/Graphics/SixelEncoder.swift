// Sixel (foot, WezTerm, iTerm2, Windows Terminal 1.22+, xterm -ti vt340, tmux 3.4+ built with it):
// `ESC P q`, raster attributes `"1;1;W;H`, a palette of `#n;2;r;g;b` (components in percent), then
// bands of six pixel rows: per colour `#n` and one character per column (63 + the six bits, top
// pixel = bit 0), runs of four or more as `!count char`, `$` back to the band's start for the next
// colour and `-` to the next band; `ESC \` ends it. Sixel has no scaling: every screen pixel is sent,
// so a raster at about the slice's own resolution is quantized once and each of its pixels repeated
// over the screen pixels it covers (nearest neighbour) while the bands are built. Per band, columns
// are walked left to right and each colour keeps the columns it touches in order, so a colour's line
// is written from that list (gaps as `?` runs) without scanning the whole width once per colour.
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

    /// The whole sixel image for `raster`, pixel for pixel.
    public static func encode(_ raster: Raster) -> [UInt8] { encode(raster, width: raster.width, height: raster.height) }

    /// The sixel image of `raster` scaled to `width x height` screen pixels (nearest neighbour).
    public static func encode(_ raster: Raster, width: Int, height: Int) -> [UInt8] {
        guard width > 0, height > 0, raster.width > 0, raster.height > 0 else { return [] }
        var out = [UInt8]()
        out.reserveCapacity(width * height / 2)
        func append(_ s: String) { out.append(contentsOf: s.utf8) }
        func number(_ n: Int) {
            if n >= 10 { number(n / 10) }
            out.append(UInt8(48 + n % 10))
        }
        let indices = raster.pixels.map(paletteIndex)
        let columnOf = (0..<width).map { $0 * raster.width / width }
        let rowStart = (0..<height).map { $0 * raster.height / height * raster.width }
        append("\u{1B}Pq\"1;1;\(width);\(height)")
        var defined = [Bool](repeating: false, count: paletteSize)
        for i in indices { defined[i] = true }
        for i in 0..<paletteSize where defined[i] {
            let c = paletteColor(i)
            func percent(_ v: UInt8) -> Int { (Int(v) * 100 + 127) / 255 }
            append("#\(i);2;\(percent(c.r));\(percent(c.g));\(percent(c.b))")
        }
        // Per band: the six-bit column values of each colour present, and the columns each one touches.
        var bits = [UInt8](repeating: 0, count: paletteSize * width)
        var columns = [[Int]](repeating: [], count: paletteSize)
        var used: [Int] = []
        for top in stride(from: 0, to: height, by: 6) {
            used.removeAll(keepingCapacity: true)
            let rows = rowStart[top..<min(height, top + 6)]
            for x in 0..<width {
                let sx = columnOf[x]
                for (dy, start) in rows.enumerated() {
                    let c = indices[start + sx]
                    if columns[c].isEmpty { used.append(c) }
                    if bits[c * width + x] == 0 { columns[c].append(x) }
                    bits[c * width + x] |= 1 << dy
                }
            }
            for (k, c) in used.enumerated() {
                out.append(UInt8(ascii: "#"))
                number(c)
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
                var x = 0, i = 0
                let list = columns[c]
                while i < list.count {
                    if list[i] > x { run(0, list[i] - x) }
                    let value = bits[base + list[i]]
                    var j = i + 1
                    while j < list.count, list[j] == list[j - 1] + 1, bits[base + list[j]] == value { j += 1 }
                    run(value, j - i)
                    x = list[j - 1] + 1
                    i = j
                }
                for column in list { bits[base + column] = 0 }
                columns[c].removeAll(keepingCapacity: true)
                out.append(UInt8(ascii: k == used.count - 1 ? "-" : "$"))
            }
        }
        append("\u{1B}\\")
        return out
    }
}
