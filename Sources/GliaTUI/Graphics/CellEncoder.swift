// Raster -> character cells for the text modes.
//
// Every cell takes its block of `cellPixels` pixels (sextants 2x3, quadrants 2x2, half blocks 1x2)
// and shows it with one glyph in two colours. Half blocks are exact (U+2580: upper pixel =
// foreground, lower = background). Quadrants and sextants have more pixels than colours, so the
// block is split in two: the two pixels farthest apart seed the groups, every pixel joins the seed
// it is nearer to, and each group's mean is its colour; the glyph is the pattern of the second
// group. A block of two colours is therefore exact too, which is what the tests decode.
//
// ASCII keeps the half-block geometry and turns each cell's two pixels into one ramp character whose
// colour is their mean; mask pixels become letters (`o` truth, `x` prediction, `X` both).
// Cells outside the image area stay plain background, as the viewer's margin.

/// Encodes a raster as cells in a text mode.
public enum CellEncoder {
    /// ASCII intensity ramp, dark to bright.
    public static let ramp: [Unicode.Scalar] = [" ", ".", ":", "-", "=", "+", "*", "%", "@"]

    /// The cells of `raster` in text `mode`; the raster must be `columns * cx` by `rows * cy`.
    public static func encode(_ raster: Raster, mode: GraphicsMode, options: RenderOptions) -> CellBuffer {
        let (cx, cy) = mode.cellPixels
        let columns = raster.width / cx, rows = raster.height / cy
        let background = Cell(" ", foreground: options.background, background: options.background)
        var out = CellBuffer(columns: columns, rows: rows, fill: background)
        let area = raster.image
        guard area.width > 0, area.height > 0 else { return out }
        // Only cells that touch the image area change.
        let firstRow = area.y / cy, lastRow = min(rows - 1, (area.y + area.height - 1) / cy)
        let firstColumn = area.x / cx, lastColumn = min(columns - 1, (area.x + area.width - 1) / cx)
        guard firstRow <= lastRow, firstColumn <= lastColumn else { return out }
        var block = [RGB](repeating: options.background, count: cx * cy)
        for row in firstRow...lastRow {
            for column in firstColumn...lastColumn {
                var mark: UInt8 = 0
                for dy in 0..<cy {
                    for dx in 0..<cx {
                        let i = (row * cy + dy) * raster.width + column * cx + dx
                        block[dy * cx + dx] = raster.pixels[i]
                        mark |= raster.marks[i]
                    }
                }
                switch mode {
                case .sextants: out[column, row] = split(block, glyph: BlockGlyphs.sextant)
                case .quadrants: out[column, row] = split(block, glyph: BlockGlyphs.quadrant)
                case .ascii: out[column, row] = asciiCell(block[0], block[1], mark, options)
                case .blocks, .kitty, .sixel, .iterm:
                    out[column, row] = Cell(SliceRenderer.halfBlock, foreground: block[0], background: block[1])
                }
            }
        }
        return out
    }

    /// Two-colour fit of one block; `glyph` maps the bit pattern (bit i = pixel i in the foreground).
    static func split(_ block: [RGB], glyph: (Int) -> Unicode.Scalar) -> Cell {
        // Seeds: the two pixels farthest apart (first such pair, so the result is deterministic).
        var seedA = 0, seedB = 0, widest = -1
        for i in 0..<block.count {
            for j in (i + 1)..<block.count {
                let d = distance(block[i], block[j])
                if d > widest { (seedA, seedB, widest) = (i, j, d) }
            }
        }
        guard widest > 0 else { return Cell(" ", foreground: block[0], background: block[0]) }
        var pattern = 0
        var sums = [[Int]](repeating: [0, 0, 0, 0], count: 2)
        for (i, c) in block.enumerated() {
            let group = distance(c, block[seedB]) < distance(c, block[seedA]) ? 1 : 0
            if group == 1 { pattern |= 1 << i }
            sums[group][0] += Int(c.r)
            sums[group][1] += Int(c.g)
            sums[group][2] += Int(c.b)
            sums[group][3] += 1
        }
        func mean(_ s: [Int]) -> RGB {
            let n = max(1, s[3])
            return RGB(UInt8((s[0] + n / 2) / n), UInt8((s[1] + n / 2) / n), UInt8((s[2] + n / 2) / n))
        }
        return Cell(glyph(pattern), foreground: mean(sums[1]), background: mean(sums[0]))
    }

    private static func distance(_ a: RGB, _ b: RGB) -> Int {
        let dr = Int(a.r) - Int(b.r), dg = Int(a.g) - Int(b.g), db = Int(a.b) - Int(b.b)
        return dr * dr + dg * dg + db * db
    }

    private static func asciiCell(_ a: RGB, _ b: RGB, _ mark: UInt8, _ options: RenderOptions) -> Cell {
        let mean = a.blended(with: b, alpha: 0.5)
        switch mark {
        case 3: return Cell("X", foreground: options.truthColor.blended(with: options.predictionColor, alpha: 0.5), background: options.background, attributes: .bold)
        case 1: return Cell("o", foreground: options.truthColor, background: options.background, attributes: .bold)
        case 2: return Cell("x", foreground: options.predictionColor, background: options.background, attributes: .bold)
        default:
            let step = min(ramp.count - 1, mean.luma * ramp.count / 256)
            return Cell(ramp[step], foreground: mean, background: options.background)
        }
    }
}

/// Glyphs for block patterns: bit i set = pixel i (row-major in the cell) drawn in the foreground.
public enum BlockGlyphs {
    /// Quadrant glyph for a 2x2 pattern (bits: top-left, top-right, bottom-left, bottom-right).
    public static func quadrant(_ pattern: Int) -> Unicode.Scalar { quadrants[pattern & 15] }

    private static let quadrants: [Unicode.Scalar] = [
        " ", "\u{2598}", "\u{259D}", "\u{2580}", "\u{2596}", "\u{258C}", "\u{259E}", "\u{259B}",
        "\u{2597}", "\u{259A}", "\u{2590}", "\u{259C}", "\u{2584}", "\u{2599}", "\u{259F}", "\u{2588}",
    ]

    /// Sextant glyph for a 2x3 pattern (bits: top-left, top-right, middle-left, middle-right,
    /// bottom-left, bottom-right). U+1FB00... holds patterns 1...62 in order except the two half
    /// blocks; those, the empty and the full pattern are older characters.
    public static func sextant(_ pattern: Int) -> Unicode.Scalar {
        let p = pattern & 63
        switch p {
        case 0: return " "
        case 63: return "\u{2588}"
        case leftHalf: return "\u{258C}"
        case rightHalf: return "\u{2590}"
        default:
            let skipped = (p > leftHalf ? 1 : 0) + (p > rightHalf ? 1 : 0)
            return Unicode.Scalar(UInt32(0x1FB00 + p - 1 - skipped))!
        }
    }

    /// The 2x3 pattern a sextant glyph stands for (the inverse of `sextant`), nil for other scalars.
    public static func sextantPattern(_ glyph: Unicode.Scalar) -> Int? {
        switch glyph.value {
        case 0x20: return 0
        case 0x2588: return 63
        case 0x258C: return leftHalf
        case 0x2590: return rightHalf
        case 0x1FB00...0x1FB3B:
            var p = Int(glyph.value) - 0x1FB00 + 1
            if p >= leftHalf { p += 1 }
            if p >= rightHalf { p += 1 }
            return p
        default: return nil
        }
    }

    /// The 2x2 pattern a quadrant glyph stands for, nil for other scalars.
    public static func quadrantPattern(_ glyph: Unicode.Scalar) -> Int? { quadrants.firstIndex(of: glyph) }

    private static let leftHalf = 0b010101, rightHalf = 0b101010
}
