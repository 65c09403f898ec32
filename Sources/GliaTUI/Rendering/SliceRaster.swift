// Slice -> RGB pixels: window/level, zoom/pan, resampling and overlays, shared by every graphics mode.
//
// Geometry: the target is a grid of `width x height` pixels, each `pixelAspect` times as tall as
// wide on the screen (half blocks: 1; quadrants: 2; sextants: 4/3; a pixel protocol: whatever the
// terminal's cell size makes it). The visible part of the image (all of it at zoom 1, 1/zoom of
// each side otherwise, centred on the pan point) is scaled to fit that grid keeping its aspect
// ratio on screen and centred; the margin gets the background colour.
//
// Resampling is area averaging: an output pixel covers a source rectangle [a, b) in fractional pixel
// units and takes the mean of the source over it, each source pixel weighted by the length of its
// overlap. The filter is separable (rows first, then columns) so a 256x256 slice costs well under a
// millisecond. Masks go through the same filter and give a coverage fraction per output pixel.
// Overlays are blended in RGB here, before any encoder maps colours to what the terminal shows.
import GliaData

/// Pixels ready for an encoder, with the overlay marks text modes draw as letters.
public struct Raster: Equatable, Sendable {
    /// Pixels across.
    public let width: Int
    /// Pixels down.
    public let height: Int
    /// Row-major colours, `width * height`.
    public var pixels: [RGB]
    /// Per pixel: bit 0 ground truth, bit 1 prediction (at least half covered / on the outline).
    public var marks: [UInt8]
    /// The part of the grid the image covers (the rest is background margin).
    public var image: Rect

    /// A raster filled with `background` and no image area.
    public init(width: Int, height: Int, background: RGB) {
        self.width = max(0, width)
        self.height = max(0, height)
        pixels = [RGB](repeating: background, count: self.width * self.height)
        marks = [UInt8](repeating: 0, count: self.width * self.height)
        image = Rect(x: 0, y: 0, width: 0, height: 0)
    }

    /// The colour at (x, y).
    public subscript(x: Int, y: Int) -> RGB { pixels[y * width + x] }
}

/// Pure function from a slice (and masks) to a raster.
public enum SliceRaster {
    /// Renders `image` into a `width x height` raster whose pixels are `pixelAspect` times as tall
    /// as wide. Masks must match the image size or are ignored.
    public static func render(image: SliceImage, truth: SliceMask?, prediction: SliceMask?, options: RenderOptions,
                              width gridW: Int, height gridH: Int, pixelAspect: Double = 1) -> Raster {
        var out = Raster(width: gridW, height: gridH, background: options.background)
        guard gridW > 0, gridH > 0, image.width > 0, image.height > 0 else { return out }

        // Visible source rectangle and the output rectangle it maps to.
        let zoom = max(1, min(16, options.zoom))
        let sw = Double(image.width) / zoom, sh = Double(image.height) / zoom
        let sx0 = max(0, min(Double(image.width) - sw, options.centerX * Double(image.width) - sw / 2))
        let sy0 = max(0, min(Double(image.height) - sh, options.centerY * Double(image.height) - sh / 2))
        let aspect = max(0.01, pixelAspect)
        let scale = min(Double(gridW) / sw, Double(gridH) * aspect / sh)
        let dw = max(1, min(gridW, Int((sw * scale).rounded()))), dh = max(1, min(gridH, Int((sh * scale / aspect).rounded())))
        let ox = (gridW - dw) / 2, oy = (gridH - dh) / 2
        out.image = Rect(x: ox, y: oy, width: dw, height: dh)
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
                out.pixels[(y + oy) * gridW + x + ox] = color
                out.marks[(y + oy) * gridW + x + ox] = mark
            }
        }
        if let cursor = options.cursor {
            // The cross sits on the centre of the cursor's pixel; its arms scale with the image.
            let cx = ox + Int(((Double(cursor.x) + 0.5 - sx0) * Double(dw) / sw).rounded(.down))
            let cy = oy + Int(((Double(cursor.y) + 0.5 - sy0) * Double(dh) / sh).rounded(.down))
            let arm = max(1, min(dw, dh) / 40)
            for d in -arm...arm {
                for (x, y) in [(cx + d, cy), (cx, cy + d)] where out.image.contains(x: x, y: y) {
                    out.pixels[y * gridW + x] = options.cursorColor
                }
            }
        }
        return out
    }

    /// The image pixel under (x, y) of an area of `areaWidth x areaHeight` the image is fitted
    /// into (any unit in which image pixels are square on screen), as `render` places it; nil in
    /// the margin.
    public static func imagePoint(imageWidth: Int, imageHeight: Int, options: RenderOptions, areaWidth: Double, areaHeight: Double,
                                  x: Double, y: Double) -> ImagePoint? {
        guard imageWidth > 0, imageHeight > 0, areaWidth > 0, areaHeight > 0 else { return nil }
        let zoom = max(1, min(16, options.zoom))
        let sw = Double(imageWidth) / zoom, sh = Double(imageHeight) / zoom
        let sx0 = max(0, min(Double(imageWidth) - sw, options.centerX * Double(imageWidth) - sw / 2))
        let sy0 = max(0, min(Double(imageHeight) - sh, options.centerY * Double(imageHeight) - sh / 2))
        let scale = min(areaWidth / sw, areaHeight / sh)
        let px = sx0 + (x - (areaWidth - sw * scale) / 2) / scale, py = sy0 + (y - (areaHeight - sh * scale) / 2) / scale
        guard px >= sx0, py >= sy0, px < sx0 + sw, py < sy0 + sh else { return nil }
        return ImagePoint(x: min(imageWidth - 1, Int(px)), y: min(imageHeight - 1, Int(py)))
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
