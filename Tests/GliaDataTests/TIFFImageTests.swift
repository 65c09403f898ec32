// Every reader path on generated files: Glia's writer (uncompressed, Deflate), and TinyTIFF's
// layouts (strips, tiles, separate planes, 16-bit, min-is-white, palette), plus bad files.
import Foundation
import GliaCore
import GliaData
import XCTest

final class TIFFImageTests: XCTestCase {
    func testRoundTripRGBAndMaskBothCompressions() throws {
        let dir = try temporaryFolder(self)
        let image = SliceImage(width: 256, height: 256, channels: 3, pixels: pattern(width: 256, height: 256, channels: 3))
        let mask = SliceMask(width: 256, height: 256, pixels: (0..<65536).map { $0 % 300 < 40 ? 1 : 0 })
        for compression in [TIFFCompression.none, .deflate] {
            let i = dir.appendingPathComponent("i\(compression).tif"), m = dir.appendingPathComponent("m\(compression).tif")
            try TIFFImage.write(image, to: i, compression: compression)
            try TIFFImage.write(mask, to: m, compression: compression)
            let readImage = try TIFFImage.readImage(i)
            XCTAssertEqual(readImage.value, image)
            XCTAssertTrue(readImage.conversions.isEmpty)
            XCTAssertEqual(try TIFFImage.readMask(m).value, mask)
            let header = try TIFFImage.readHeader(i)
            XCTAssertEqual(header.compression, compression == .none ? 1 : 8)
            XCTAssertEqual(header.samplesPerPixel, 3)
        }
        let plain = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("i\(TIFFCompression.none).tif").path)[.size] as! Int
        let packed = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("i\(TIFFCompression.deflate).tif").path)[.size] as! Int
        XCTAssertLessThan(packed, plain)
    }

    func testGrayscaleImageIsRepeatedIntoThreeChannels() throws {
        let dir = try temporaryFolder(self)
        let gray = SliceImage(width: 256, height: 256, channels: 1, pixels: pattern(width: 256, height: 256, channels: 1))
        let url = dir.appendingPathComponent("g.tif")
        try TIFFImage.write(gray, to: url)
        let read = try TIFFImage.readImage(url)
        XCTAssertEqual(read.value.channels, 3)
        XCTAssertEqual(read.conversions.count, 1)
        for (x, y) in [(0, 0), (17, 200), (255, 255)] {
            for c in 0..<3 { XCTAssertEqual(read.value[x, y, c], gray[x, y, 0]) }
        }
    }

    /// Reads a TinyTIFF-encoded pattern and compares with the expected 8-bit RGB result.
    private func check(_ tiff: TinyTIFF, samples: [UInt16], expected: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try temporaryFolder(self).appendingPathComponent("t.tif")
        try tiff.encode(samples).write(to: url)
        let read = try TIFFImage.readImage(url, side: nil)
        XCTAssertEqual(read.value.pixels, expected, file: file, line: line)
    }

    func testStripsTilesAndPlanesGiveTheSamePixels() throws {
        let (w, h) = (40, 30)
        let rgb = pattern(width: w, height: h, channels: 3)
        let samples = rgb.map(UInt16.init)
        var strips = TinyTIFF(width: w, height: h, samplesPerPixel: 3, photometric: 2)
        strips.rowsPerStrip = 11
        try check(strips, samples: samples, expected: rgb)
        var tiles = TinyTIFF(width: w, height: h, samplesPerPixel: 3, photometric: 2)
        tiles.tile = (16, 16)  // partial tiles at the right and bottom edges
        try check(tiles, samples: samples, expected: rgb)
        var separate = TinyTIFF(width: w, height: h, samplesPerPixel: 3, photometric: 2)
        separate.planarSeparate = true
        separate.rowsPerStrip = 7
        try check(separate, samples: samples, expected: rgb)
        var separateTiles = separate
        separateTiles.tile = (16, 16)
        try check(separateTiles, samples: samples, expected: rgb)
    }

    func testSixteenBitIsScaledByTheImageMaximum() throws {
        let (w, h) = (16, 8)
        let values: [UInt16] = (0..<(w * h)).map { UInt16($0 * 31) }  // maximum 3937
        let peak = Int(values.max()!)
        let expected = values.flatMap { v -> [UInt8] in
            let s = UInt8((Int(v) * 255 + peak / 2) / peak)
            return [s, s, s]
        }
        try check(TinyTIFF(width: w, height: h, bitsPerSample: 16), samples: values, expected: expected)
    }

    func testSixteenBitMaskKeepsEveryNonzeroPixel() throws {
        let values: [UInt16] = [0, 1, 0, 60000] + [UInt16](repeating: 0, count: 60)
        let url = try temporaryFolder(self).appendingPathComponent("m16.tif")
        try TinyTIFF(width: 8, height: 8, bitsPerSample: 16).encode(values).write(to: url)
        XCTAssertEqual(try TIFFImage.readMask(url, side: nil).value.pixels, values.map { $0 == 0 ? 0 : 1 })
    }

    /// Signed samples (SampleFormat 2): the most negative value is black, 0 is mid-grey, the most
    /// positive white; a signed mask's tumor is any nonzero stored value, negative ones included.
    func testSignedSamplesPutTheMostNegativeValueAtBlack() throws {
        let stored: [Int8] = [-128, -1, 0, 1, 127] + [Int8](repeating: -128, count: 59)
        var tiff = TinyTIFF(width: 8, height: 8)
        tiff.extraShortTags = [(339, 2)]
        let url = try temporaryFolder(self).appendingPathComponent("s8.tif")
        try tiff.encode(stored.map { UInt16(UInt8(bitPattern: $0)) }).write(to: url)
        let image = try TIFFImage.readImage(url, side: nil)
        XCTAssertEqual(Array(image.value.pixels.prefix(15)), [0, 0, 0, 127, 127, 127, 128, 128, 128, 129, 129, 129, 255, 255, 255])
        XCTAssertTrue(image.conversions.contains { $0.contains("signed") }, "\(image.conversions)")
        XCTAssertEqual(image.value.pixels.last, 0, "the background is black")
        let mask = try TIFFImage.readMask(url, side: nil)
        XCTAssertEqual(Array(mask.value.pixels.prefix(5)), [1, 1, 0, 1, 1])

        let stored16: [Int16] = [-32768, 0, 32767, -5] + [Int16](repeating: 0, count: 60)
        var tiff16 = TinyTIFF(width: 8, height: 8, bitsPerSample: 16)
        tiff16.extraShortTags = [(339, 2)]
        let url16 = try temporaryFolder(self).appendingPathComponent("s16.tif")
        try tiff16.encode(stored16.map { UInt16(bitPattern: $0) }).write(to: url16)
        let image16 = try TIFFImage.readImage(url16, side: nil).value.pixels
        XCTAssertEqual(image16[0], 0)
        XCTAssertEqual(image16[6], 255)
        XCTAssertEqual(Int(image16[3]), 128, accuracy: 1)
        XCTAssertEqual(Array(try TIFFImage.readMask(url16, side: nil).value.pixels.prefix(4)), [1, 0, 1, 1])
    }

    func testMissingStripOrTileDataIsAnErrorAfterAGoodHeader() throws {
        for tiled in [false, true] {
            var tiff = TinyTIFF(width: 32, height: 32)
            if tiled { tiff.tile = (16, 16) } else { tiff.rowsPerStrip = 8 }
            tiff.lastBlockMissing = true
            let url = try temporaryFolder(self).appendingPathComponent("cut.tif")
            try tiff.encode([UInt16](repeating: 9, count: 1024)).write(to: url)
            XCTAssertEqual(try TIFFImage.readHeader(url).width, 32)
            XCTAssertThrowsError(try TIFFImage.readImage(url, side: nil)) { error in
                XCTAssertTrue("\(error)".contains(tiled ? "tile" : "strip"), "\(error)")
            }
        }
    }

    func testMinIsWhiteIsInverted() throws {
        let values: [UInt16] = (0..<64).map { UInt16($0 * 4) }
        let expected = values.flatMap { v -> [UInt8] in [255 - UInt8(v), 255 - UInt8(v), 255 - UInt8(v)] }
        try check(TinyTIFF(width: 8, height: 8, photometric: 0), samples: values, expected: expected)
    }

    func testPaletteGoesThroughTheRGBAPath() throws {
        var tiff = TinyTIFF(width: 4, height: 4, photometric: 3)
        // Entry i: red = i, green = 255 - i, blue = 7 (16-bit colormap values).
        tiff.colorMap = (0..<256).map { UInt16($0) * 257 } + (0..<256).map { UInt16(255 - $0) * 257 } + Array(repeating: 7 * 257, count: 256)
        let indices: [UInt16] = (0..<16).map { UInt16($0 * 10) }
        let expected = indices.flatMap { i -> [UInt8] in [UInt8(i), UInt8(255 - i), 7] }
        try check(tiff, samples: indices, expected: expected)
    }

    func testOtherSizesAreResizedWithAWarningAndMasksStayBinary() throws {
        let dir = try temporaryFolder(self)
        let url = dir.appendingPathComponent("small.tif"), maskURL = dir.appendingPathComponent("small_mask.tif")
        try TIFFImage.write(SliceImage(width: 128, height: 64, channels: 3, pixels: [UInt8](repeating: 90, count: 128 * 64 * 3)), to: url)
        var maskPixels = [UInt8](repeating: 0, count: 128 * 64)
        for y in 16..<48 { for x in 32..<96 { maskPixels[y * 128 + x] = 1 } }
        try TIFFImage.write(SliceMask(width: 128, height: 64, pixels: maskPixels), to: maskURL)
        let image = try TIFFImage.readImage(url)
        XCTAssertEqual(image.value.width, 256)
        XCTAssertEqual(image.value.height, 256)
        XCTAssertTrue(image.conversions.contains { $0.contains("resized from 128x64") })
        XCTAssertEqual(image.value[128, 128, 1], 90)  // a flat image stays flat under bilinear
        let mask = try TIFFImage.readMask(maskURL)
        XCTAssertEqual(mask.value.width, 256)
        XCTAssertTrue(mask.value.pixels.allSatisfy { $0 <= 1 })
        XCTAssertEqual(mask.value.area, 64 * 32 * 2 * 4)  // the 64x32 box doubled in x, quadrupled in y
    }

    func testMaskWithAnyNonzeroChannelIsTumor() throws {
        let url = try temporaryFolder(self).appendingPathComponent("m.tif")
        var rgb = [UInt8](repeating: 0, count: 256 * 256 * 3)
        rgb[5 * 3 + 2] = 1  // pixel 5, blue only
        rgb[9 * 3] = 255
        try TIFFImage.write(SliceImage(width: 256, height: 256, channels: 3, pixels: rgb), to: url)
        let mask = try TIFFImage.readMask(url)
        XCTAssertEqual(mask.value.area, 2)
        XCTAssertEqual(mask.value.pixels[5], 1)
        XCTAssertEqual(mask.conversions.count, 1)
    }

    func testTruncatedAndForeignFilesThrowNamingTheFile() throws {
        let dir = try temporaryFolder(self)
        let good = dir.appendingPathComponent("good.tif")
        try TIFFImage.write(SliceImage(width: 256, height: 256, channels: 3, pixels: pattern(width: 256, height: 256, channels: 3)), to: good, compression: .none)
        let bytes = try Data(contentsOf: good)
        // Keep the header and directory (at the end of libtiff's file) but lose most pixel data:
        // the directory still says where the strip was, reading it must fail.
        let truncated = dir.appendingPathComponent("truncated.tif")
        var cut = bytes
        cut.replaceSubrange(8..<(bytes.count - 400), with: Data())
        try cut.write(to: truncated)
        let notTIFF = dir.appendingPathComponent("text.tif")
        try Data("hello, not a TIFF".utf8).write(to: notTIFF)
        for url in [truncated, notTIFF] {
            XCTAssertThrowsError(try TIFFImage.readImage(url)) { error in
                XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            }
        }
        let tail = dir.appendingPathComponent("tail.tif")
        try bytes.prefix(bytes.count / 2).write(to: tail)
        XCTAssertThrowsError(try TIFFImage.readImage(tail))
    }

    func testDamagedFilesThrowOrDecodeButNeverCrash() throws {
        let dir = try temporaryFolder(self)
        var tiff = TinyTIFF(width: 24, height: 20, samplesPerPixel: 3, photometric: 2)
        tiff.rowsPerStrip = 7
        let good = [UInt8](tiff.encode(pattern(width: 24, height: 20, channels: 3).map(UInt16.init)))
        var rng = GliaCore.RandomGenerator(seed: 99)
        var failures = 0
        for trial in 0..<150 {
            var bytes = good
            // Damage the directory region (the file's tail) where it hurts most, sometimes the data.
            for _ in 0..<(1 + rng.nextInt(below: 4)) {
                let at = trial % 3 == 0 ? rng.nextInt(below: bytes.count) : bytes.count - 1 - rng.nextInt(below: 140)
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            let url = dir.appendingPathComponent("d\(trial).tif")
            try Data(bytes).write(to: url)
            do {
                let image = try TIFFImage.readImage(url)
                XCTAssertEqual(image.value.pixels.count, 256 * 256 * 3)
                _ = try TIFFImage.readMask(url)
            } catch {
                failures += 1
                XCTAssertTrue(error is TIFFError, "\(error)")
            }
        }
        XCTAssertGreaterThan(failures, 0)
    }

    func testLibtiffWarningsAreCapturedPerFile() throws {
        var tiff = TinyTIFF(width: 256, height: 256)
        tiff.extraShortTags = [(65000, 3)]  // a private tag libtiff does not know
        let url = try temporaryFolder(self).appendingPathComponent("w.tif")
        try tiff.encode([UInt16](repeating: 0, count: 65536)).write(to: url)
        let read = try TIFFImage.readImage(url)
        XCTAssertTrue(read.warnings.contains { $0.contains("65000") }, "\(read.warnings)")
    }
}
