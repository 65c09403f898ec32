// Augmentation keeps image and mask aligned, is seeded, and stays within its ranges;
// normalisation and the resampling maps.
import GliaCore
import GliaData
import XCTest

final class AugmentationTests: XCTestCase {
    /// An image whose every channel is 200 inside a lumpy blob and 0 outside, with the blob as mask.
    private func blob() -> (SliceImage, SliceMask) {
        var mask = [UInt8](repeating: 0, count: 65536)
        for y in 0..<256 {
            for x in 0..<256 {
                let dx = Float(x - 150), dy = Float(y - 100)
                if dx * dx / 900 + dy * dy / 400 < 1 || (x > 60 && x < 90 && y > 150 && y < 220) { mask[y * 256 + x] = 1 }
            }
        }
        let pixels = mask.flatMap { m -> [UInt8] in m == 1 ? [200, 200, 200] : [0, 0, 0] }
        return (SliceImage(width: 256, height: 256, channels: 3, pixels: pixels), SliceMask(width: 256, height: 256, pixels: mask))
    }

    func testFlipIsExactMirror() {
        let (image, mask) = blob()
        let p = AugmentationParameters(flip: true, degrees: 0, scale: 1, brightness: 0, contrast: 1)
        let (fi, fm) = Augmentation.apply(p, image: image, mask: mask)
        for (x, y) in [(150, 100), (70, 160), (0, 0), (255, 37)] {
            XCTAssertEqual(fm[x, y], mask[255 - x, y])
            XCTAssertEqual(fi[x, y, 1], image[255 - x, y, 1])
        }
        XCTAssertEqual(fm.area, mask.area)
    }

    func testPositiveRotationIsClockwiseOnScreen() {
        // A 3x3 spot right of centre (centre = 127.5) turns to below centre at +90 degrees.
        var mask = [UInt8](repeating: 0, count: 65536)
        for y in 127...129 { for x in 167...169 { mask[y * 256 + x] = 1 } }
        let image = SliceImage(width: 256, height: 256, channels: 3, pixels: mask.flatMap { [$0 * 200, 0, 0] })
        let p = AugmentationParameters(flip: false, degrees: 90, scale: 1, brightness: 0, contrast: 1)
        let (ri, rm) = Augmentation.apply(p, image: image, mask: SliceMask(width: 256, height: 256, pixels: mask))
        XCTAssertEqual(rm[127, 167], 1)
        XCTAssertEqual(rm[167, 127], 0)
        XCTAssertEqual(rm.area, 9)
        XCTAssertGreaterThan(ri[127, 167, 0], 150)
    }

    func testImageAndMaskMoveTogether() {
        let (image, mask) = blob()
        var rng = RandomGenerator(seed: 5)
        for _ in 0..<8 {
            var p = AugmentationParameters.draw(.standard, using: &rng)
            p.brightness = 0
            p.contrast = 1
            let (ai, am) = Augmentation.apply(p, image: image, mask: mask)
            // Bilinear and nearest agree except on a thin edge band.
            var disagree = 0
            for i in 0..<65536 where (ai.pixels[i * 3] >= 100) != (am.pixels[i] == 1) { disagree += 1 }
            XCTAssertLessThan(Double(disagree), 0.02 * Double(am.area), "\(p)")
            XCTAssertEqual(Double(am.area), Double(mask.area) * Double(p.scale * p.scale), accuracy: 0.05 * Double(mask.area))
            XCTAssertTrue(am.pixels.allSatisfy { $0 <= 1 })
        }
    }

    /// Float bilinear reference with edge clamping (positions within a pixel of the image).
    private func reference(_ src: [UInt8], _ w: Int, _ h: Int, _ c: Int, _ map: AffineMap, x: Int, y: Int, k: Int) -> Float? {
        let fx = map.a * Float(x) + map.b * Float(y) + map.tx, fy = map.c * Float(x) + map.d * Float(y) + map.ty
        guard fx >= 0, fy >= 0, fx <= Float(w - 1), fy <= Float(h - 1) else { return nil }
        let x0 = Int(fx), y0 = Int(fy), x1 = min(w - 1, x0 + 1), y1 = min(h - 1, y0 + 1)
        let ax = fx - Float(x0), ay = fy - Float(y0)
        func v(_ x: Int, _ y: Int) -> Float { Float(src[(y * w + x) * c + k]) }
        return (v(x0, y0) * (1 - ax) + v(x1, y0) * ax) * (1 - ay) + (v(x0, y1) * (1 - ax) + v(x1, y1) * ax) * ay
    }

    func testWarpsMatchAFloatBilinearReference() {
        for channels in [1, 3] {
            let (w, h) = (64, 48)
            let src = pattern(width: w, height: h, channels: channels).map { UInt8(Int($0) / 2 + 40) }
            let map = AffineMap.about(width: w, height: h, degrees: 11, scale: 1.04, flip: channels == 3)
            var out = [UInt8](repeating: 0, count: src.count)
            Resample.warpBilinear(src, width: w, height: h, channels: channels, into: &out, width: w, height: h, map: map)
            var worst: Float = 0, checked = 0
            for y in 0..<h {
                for x in 0..<w {
                    for k in 0..<channels {
                        guard let r = reference(src, w, h, channels, map, x: x, y: y, k: k) else { continue }
                        // Skip neighbourhoods where the pattern wraps (a 127-level jump).
                        let fx = Int(map.a * Float(x) + map.b * Float(y) + map.tx), fy = Int(map.c * Float(x) + map.d * Float(y) + map.ty)
                        let around = [(0, 0), (1, 0), (0, 1), (1, 1)].map { src[(min(h - 1, fy + $0.1) * w + min(w - 1, fx + $0.0)) * channels + k] }
                        guard around.max()! - around.min()! < 40 else { continue }
                        worst = max(worst, abs(Float(out[(y * w + x) * channels + k]) - r))
                        checked += 1
                    }
                }
            }
            XCTAssertGreaterThan(checked, w * h * channels / 2)
            XCTAssertLessThanOrEqual(worst, 1.5, "\(channels) channel(s)")
        }
    }

    func testDrawsAreSeededAndWithinRanges() {
        var a = RandomGenerator(seed: 11), b = RandomGenerator(seed: 11)
        var flips = 0
        for _ in 0..<400 {
            let p = AugmentationParameters.draw(.standard, using: &a)
            XCTAssertEqual(p, AugmentationParameters.draw(.standard, using: &b))
            XCTAssertLessThanOrEqual(abs(p.degrees), 15)
            XCTAssertLessThanOrEqual(abs(p.scale - 1), 0.05 + 1e-6)
            XCTAssertLessThanOrEqual(abs(p.brightness), 0.1 + 1e-6)
            XCTAssertLessThanOrEqual(abs(p.contrast - 1), 0.1 + 1e-6)
            if p.flip { flips += 1 }
        }
        XCTAssertTrue((150...250).contains(flips), "\(flips) flips of 400")
    }

    func testBrightnessAndContrastTouchOnlyTheImage() {
        let (image, mask) = blob()
        let p = AugmentationParameters(flip: false, degrees: 0, scale: 1, brightness: 0.1, contrast: 1.1)
        let (ai, am) = Augmentation.apply(p, image: image, mask: mask)
        XCTAssertEqual(am, mask)
        XCTAssertEqual(ai[150, 100, 0], 246)  // 200 * 1.1 + 25.5 = 245.5 -> 246
        XCTAssertEqual(ai[0, 0, 0], 26)       // 0 * 1.1 + 25.5 -> 26
    }

    func testNormalization() {
        let image = SliceImage(width: 2, height: 2, channels: 3, pixels: [0, 255, 51, 0, 255, 51, 0, 255, 51, 0, 255, 51])
        XCTAssertEqual(Normalization.unitRange.apply(image)[1], 1)
        XCTAssertEqual(Normalization.unitRange.apply(image)[2], 0.2, accuracy: 1e-6)
        let z = Normalization.perImage.apply(image)
        let mean = z.reduce(0, +) / Float(z.count)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(z.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-5)
        XCTAssertEqual(variance, 1, accuracy: 1e-4)
        let blank = Normalization.perImage.apply(SliceImage(width: 2, height: 2, channels: 1, pixels: [7, 7, 7, 7]))
        XCTAssertEqual(blank, [0, 0, 0, 0])
    }

    func testResizeKeepsCornersAndFlatRegions() {
        let small = SliceImage(width: 4, height: 4, channels: 1, pixels: (0..<16).map { UInt8($0 * 10) })
        let big = Resample.bilinear(small, width: 8, height: 8)
        XCTAssertEqual(big[0, 0, 0], 0)
        XCTAssertEqual(big[7, 7, 0], 150)
        let mask = SliceMask(width: 2, height: 2, pixels: [1, 0, 0, 1])
        XCTAssertEqual(Resample.nearest(mask, width: 4, height: 4).pixels, [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1])
    }

    func testLRUCacheEvictsLeastRecentlyUsedWithinItsBound() {
        let cache = LRUCache<String, Int>(capacity: 30)
        cache.insert(1, for: "a", cost: 10)
        cache.insert(2, for: "b", cost: 10)
        cache.insert(3, for: "c", cost: 10)
        XCTAssertEqual(cache.value(for: "a"), 1)  // a is now the most recent
        cache.insert(4, for: "d", cost: 10)
        XCTAssertNil(cache.value(for: "b"))
        XCTAssertEqual(cache.value(for: "a"), 1)
        XCTAssertEqual(cache.totalCost, 30)
        cache.insert(5, for: "huge", cost: 31)
        XCTAssertNil(cache.value(for: "huge"))
        XCTAssertEqual(cache.count, 3)
    }
}
