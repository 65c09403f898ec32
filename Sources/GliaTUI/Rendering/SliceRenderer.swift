// Slice -> character cells: the one renderer behind the viewer pane and `glia show`.
//
// Geometry: the target is `columns x rows` cells and each cell holds two pixels stacked vertically
// (U+2580 "▀": upper pixel = foreground, lower pixel = background), so the pixel grid is
// `columns x 2*rows`; terminal cells are about twice as tall as wide, so these pixels are about square.
// The visible part of the image (all of it at zoom 1, 1/zoom of each side otherwise, centred on the
// pan point) is scaled to fit that grid keeping its aspect ratio and centred; the margin gets the
// background colour.
//
// Resampling is area averaging: an output pixel covers a source rectangle [a, b) in fractional pixel
// units and takes the mean of the source over it, each source pixel weighted by the length of its
// overlap. The filter is separable (rows first, then columns) so a 256x256 slice costs well under a
// millisecond. Masks go through the same filter and give a coverage fraction per output pixel.
//
// ASCII mode keeps the geometry but turns each cell's two pixels into one ramp character whose
// colour is their mean; mask pixels become letters (`o` truth, `x` prediction, `X` both).
import GliaData

/// Which part of the MRI slice to show.
public enum ViewerChannel: Int, CaseIterable, Sendable {
    case preContrast = 0, flair = 1, postContrast = 2, composite = 3

    /// Name shown in the legend.
    public var label: String {
        switch self {
        case .preContrast: "pre-contrast"
        case .flair: "FLAIR"
        case .postContrast: "post-contrast"
        case .composite: "RGB composite"
        }
    }
}

/// How masks are drawn: filled ground truth with outlined prediction, both outlined, or none.
public enum OverlayStyle: Int, CaseIterable, Sendable {
    case fill, outline, off

    /// Name shown in the legend.
    public var label: String {
        switch self {
        case .fill: "fill"
        case .outline: "outline"
        case .off: "off"
        }
    }
}

/// Everything the renderer needs besides the pixels.
public struct RenderOptions: Sendable, Equatable {
    /// Channel shown (or the RGB composite).
    public var channel: ViewerChannel = .flair
    /// Intensity span mapped to black...white (1...255).
    public var window: Double = 255
    /// Intensity mapped to mid-gray.
    public var level: Double = 127.5
    /// 1 = whole image; 2 = half of each side; at most 16.
    public var zoom: Double = 1
    /// Pan point (centre of the view) as a fraction of the image width.
    public var centerX: Double = 0.5
    /// Pan point as a fraction of the image height.
    public var centerY: Double = 0.5
    /// How masks are drawn.
    public var overlay: OverlayStyle = .fill
    /// Opacity of the filled ground-truth overlay, 0...1.
    public var opacity: Float = 0.45
    /// Ground-truth overlay colour.
    public var truthColor: RGB = Theme.dark.overlayTruth
    /// Prediction overlay colour.
    public var predictionColor: RGB = Theme.dark.overlayPrediction
    /// Colour around the image.
    public var background: RGB = Theme.dark.viewerBackground
    /// Half blocks (Unicode) or the character ramp (ASCII).
    public var glyphs: GlyphMode = .unicode

    /// Default options.
    public init() {}
}

/// Pure function from a slice (and masks) to cells.
public enum SliceRenderer {
    /// The upper-half block used for image cells.
    public static let halfBlock: Unicode.Scalar = "\u{2580}"
    /// ASCII intensity ramp, dark to bright.
    public static let ramp: [Unicode.Scalar] = [" ", ".", ":", "-", "=", "+", "*", "%", "@"]

    /// Renders `image` into `columns x rows` cells. Masks must match the image size or are ignored.
    public static func render(image: SliceImage, truth: SliceMask?, prediction: SliceMask?,
                              options: RenderOptions, columns: Int, rows: Int) -> CellBuffer {
        let background = Cell(" ", foreground: options.background, background: options.background)
        var out = CellBuffer(columns: columns, rows: rows, fill: background)
        guard columns > 0, rows > 0, image.width > 0, image.height > 0 else { return out }
        let gridW = columns, gridH = rows * 2

        // Visible source rectangle and the output rectangle it maps to.
        let zoom = max(1, min(16, options.zoom))
        let sw = Double(image.width) / zoom, sh = Double(image.height) / zoom
        let sx0 = max(0, min(Double(image.width) - sw, options.centerX * Double(image.width) - sw / 2))
        let sy0 = max(0, min(Double(image.height) - sh, options.centerY * Double(image.height) - sh / 2))
        let scale = min(Double(gridW) / sw, Double(gridH) / sh)
        let dw = max(1, min(gridW, Int((sw * scale).rounded()))), dh = max(1, min(gridH, Int((sh * scale).rounded())))
        let ox = (gridW - dw) / 2, oy = (gridH - dh) / 2
        let xTaps = taps(start: sx0, length: sw, outputs: dw, limit: image.width)
        let yTaps = taps(start: sy0, length: sh, outputs: dh, limit: image.height)

        // Resampled planes, dw x dh each.
        let channels: [Int] = options.channel == .composite ? [0, 1, 2] : [options.channel.rawValue]
        let planes = channels.map { c in
            resample(width: image.width, xTaps: xTaps, yTaps: yTaps) { Float(image.pixels[$0 * image.channels + min(c, image.channels - 1)]) }
        }
        let truthCover = matching(truth, image).map { m in resample(width: image.width, xTaps: xTaps, yTaps: yTaps) { Float(m.pixels[$0]) } }
        let predCover = matching(prediction, image).map { m in resample(width: image.width, xTaps: xTaps, yTaps: yTaps) { Float(m.pixels[$0]) } }

        let lo = options.level - options.window / 2, span = max(1, options.window)
        func windowed(_ v: Float) -> UInt8 { UInt8(max(0, min(255, ((Double(v) - lo) / span * 255).rounded()))) }

        // Per-pixel colour and overlay marks over the whole grid (margins stay background).
        var colors = [RGB](repeating: options.background, count: gridW * gridH)
        var marks = [UInt8](repeating: 0, count: gridW * gridH)  // bit 0 truth, bit 1 prediction
        let truthEdge = truthCover.map { edges(of: $0, width: dw, height: dh) }
        let predEdge = predCover.map { edges(of: $0, width: dw, height: dh) }
        for y in 0..<dh {
            for x in 0..<dw {
                let i = y * dw + x
                var color: RGB
                if planes.count == 3 {
                    color = RGB(windowed(planes[0][i]), windowed(planes[1][i]), windowed(planes[2][i]))
                } else {
                    let v = windowed(planes[0][i])
                    color = RGB(v, v, v)
                }
                var mark: UInt8 = 0
                switch options.overlay {
                case .fill:
                    if let t = truthCover?[i], t > 0 {
                        color = color.blended(with: options.truthColor, alpha: options.opacity * min(1, 2 * t))
                        if t >= 0.5 { mark |= 1 }
                    }
                    if predEdge?[i] == true {
                        color = options.predictionColor
                        mark |= 2
                    }
                case .outline:
                    if truthEdge?[i] == true {
                        color = options.truthColor
                        mark |= 1
                    }
                    if predEdge?[i] == true {
                        color = truthEdge?[i] == true ? options.truthColor.blended(with: options.predictionColor, alpha: 0.5)
                                                      : options.predictionColor
                        mark |= 2
                    }
                case .off:
                    break
                }
                colors[(y + oy) * gridW + x + ox] = color
                marks[(y + oy) * gridW + x + ox] = mark
            }
        }

        // Pack pixel pairs into cells; only cells that touch the image area change.
        let firstRow = oy / 2, lastRow = min(rows - 1, (oy + dh - 1) / 2)
        for row in firstRow...lastRow {
            for x in ox..<(ox + dw) {
                let upper = row * 2 * gridW + x, lower = upper + gridW
                if options.glyphs == .unicode {
                    out[x, row] = Cell(halfBlock, foreground: colors[upper], background: colors[lower])
                } else {
                    out[x, row] = asciiCell(colors[upper], colors[lower], marks[upper] | marks[lower], options)
                }
            }
        }
        return out
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

    private static func matching(_ mask: SliceMask?, _ image: SliceImage) -> SliceMask? {
        guard let mask, mask.width == image.width, mask.height == image.height else { return nil }
        return mask
    }

    /// Source span of one output pixel: first source index and the overlap weights (sum = 1).
    private struct Tap {
        var first: Int
        var weights: [Float]
    }

    /// Area-averaging taps for `outputs` pixels covering source [start, start + length).
    private static func taps(start: Double, length: Double, outputs: Int, limit: Int) -> [Tap] {
        let step = length / Double(outputs)
        return (0..<outputs).map { i in
            let a = start + Double(i) * step, b = min(Double(limit), a + step)
            let first = max(0, min(limit - 1, Int(a)))
            var weights: [Float] = []
            var p = first
            while Double(p) < b, p < limit {
                weights.append(Float(min(b, Double(p + 1)) - max(a, Double(p))))
                p += 1
            }
            let total = weights.reduce(0, +)
            return Tap(first: first, weights: total > 0 ? weights.map { $0 / total } : [1])
        }
    }

    /// Separable area average of the plane `value(y * width + x)`; result is row-major xTaps x yTaps.
    private static func resample(width: Int, xTaps: [Tap], yTaps: [Tap], value: (Int) -> Float) -> [Float] {
        let dw = xTaps.count, dh = yTaps.count
        let firstRow = yTaps.first?.first ?? 0
        let lastRow = (yTaps.last.map { $0.first + $0.weights.count } ?? 0)
        // Horizontal pass over the rows the vertical taps touch.
        var rowsOut = [Float](repeating: 0, count: (lastRow - firstRow) * dw)
        for y in firstRow..<lastRow {
            let base = y * width, outBase = (y - firstRow) * dw
            for (x, tap) in xTaps.enumerated() {
                var s: Float = 0
                for (k, w) in tap.weights.enumerated() { s += w * value(base + tap.first + k) }
                rowsOut[outBase + x] = s
            }
        }
        var result = [Float](repeating: 0, count: dw * dh)
        for (y, tap) in yTaps.enumerated() {
            for (k, w) in tap.weights.enumerated() {
                let src = (tap.first + k - firstRow) * dw
                for x in 0..<dw { result[y * dw + x] += w * rowsOut[src + x] }
            }
        }
        return result
    }

    /// Outline of a coverage plane: pixels at least half covered with a 4-neighbour that is not.
    private static func edges(of cover: [Float], width: Int, height: Int) -> [Bool] {
        var result = [Bool](repeating: false, count: cover.count)
        func inside(_ x: Int, _ y: Int) -> Bool {
            x >= 0 && y >= 0 && x < width && y < height && cover[y * width + x] >= 0.5
        }
        for y in 0..<height {
            for x in 0..<width where inside(x, y) {
                result[y * width + x] = !(inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1))
            }
        }
        return result
    }
}
