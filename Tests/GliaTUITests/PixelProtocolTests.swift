import Foundation
import GliaTUI
import XCTest

// Each pixel protocol's escapes, decoded back to the exact pixels.
final class PixelProtocolTests: XCTestCase {
    /// A raster of varied colours (deterministic).
    private func raster(_ width: Int, _ height: Int, colors: (Int) -> RGB) -> Raster {
        var r = Raster(width: width, height: height, background: RGB(0, 0, 0))
        r.image = Rect(x: 0, y: 0, width: width, height: height)
        r.pixels = (0..<(width * height)).map(colors)
        return r
    }

    private func noisy(_ width: Int, _ height: Int) -> Raster {
        raster(width, height) { i in RGB(UInt8(i * 37 % 256), UInt8(i * 91 % 256), UInt8(i * 13 % 256)) }
    }

    /// Splits `bytes` into the escapes `ESC <introducer> ... ESC \`.
    private func strings(_ bytes: [UInt8], introducer: UInt8) -> [[UInt8]] {
        var out: [[UInt8]] = [], i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x1B, bytes[i + 1] == introducer {
                var end = i + 2
                while end + 1 < bytes.count, !(bytes[end] == 0x1B && bytes[end + 1] == 0x5C) { end += 1 }
                out.append(Array(bytes[(i + 2)..<end]))
                i = end + 2
            } else {
                i += 1
            }
        }
        return out
    }

    // MARK: kitty

    func testKittyChunksDecodeToTheRawRGBPixels() throws {
        let image = noisy(64, 48)  // 9,216 bytes: three base64 chunks
        let escapes = KittyEncoder.transmit(image, id: 3, columns: 12, rows: 5, placeholders: false)
        XCTAssertEqual(escapes.count, 3)
        var payload: [UInt8] = []
        for (n, escape) in escapes.enumerated() {
            let bodies = strings(escape, introducer: UInt8(ascii: "_"))
            XCTAssertEqual(bodies.count, 1)
            let body = bodies[0]
            XCTAssertEqual(body.first, UInt8(ascii: "G"))
            let semicolon = try XCTUnwrap(body.firstIndex(of: UInt8(ascii: ";")))
            let keys = Set(String(decoding: body[1..<semicolon], as: UTF8.self).split(separator: ",").map(String.init))
            let chunk = Array(body[(semicolon + 1)...])
            XCTAssertLessThanOrEqual(chunk.count, 4096)
            XCTAssertTrue(keys.contains(n == escapes.count - 1 ? "m=0" : "m=1"), "\(keys)")
            if n == 0 {
                XCTAssertTrue(keys.isSuperset(of: ["a=T", "f=24", "s=64", "v=48", "i=3", "c=12", "r=5", "C=1", "q=2"]), "\(keys)")
            }
            payload += chunk
        }
        let decoded = try XCTUnwrap(Data(base64Encoded: Data(payload)))
        XCTAssertEqual(Array(decoded), image.pixels.flatMap { [$0.r, $0.g, $0.b] })
    }

    func testKittyPlaceholdersNameTheImageAndEveryCellsRowAndColumn() throws {
        let escapes = KittyEncoder.transmit(noisy(4, 4), id: 9, columns: 3, rows: 2, placeholders: true)
        XCTAssertTrue(String(decoding: escapes[0], as: UTF8.self).contains("U=1"))
        let rows = KittyEncoder.placeholderRows(id: 9, columns: 120, rows: 60)
        XCTAssertEqual(rows.count, 60)
        for (r, text) in rows.enumerated() {
            XCTAssertTrue(text.hasPrefix("\u{1B}[38;5;9m"), "the foreground colour names image 9")
            XCTAssertTrue(text.hasSuffix("\u{1B}[39m"))
            let scalars = Array(text.unicodeScalars.dropFirst("\u{1B}[38;5;9m".unicodeScalars.count).dropLast("\u{1B}[39m".unicodeScalars.count))
            XCTAssertEqual(scalars.count, 120 * 3)
            for c in 0..<120 {
                XCTAssertEqual(scalars[3 * c], KittyEncoder.placeholder)
                XCTAssertEqual(KittyEncoder.diacriticValue(scalars[3 * c + 1]), r)
                XCTAssertEqual(KittyEncoder.diacriticValue(scalars[3 * c + 2]), c)
            }
        }
        XCTAssertEqual(KittyEncoder.maximumSpan, 297)
    }

    // MARK: sixel

    /// Decodes a sixel image to (width, height, palette in percent, index per pixel).
    private func decodeSixel(_ bytes: [UInt8]) throws -> (Int, Int, [Int: [Int]], [Int]) {
        let body = try XCTUnwrap(strings(bytes, introducer: UInt8(ascii: "P")).first)
        XCTAssertEqual(body.first, UInt8(ascii: "q"))
        var i = 1
        func number() -> Int {
            var n = 0
            while i < body.count, (48...57).contains(body[i]) {
                n = n * 10 + Int(body[i] - 48)
                i += 1
            }
            return n
        }
        func numbers() -> [Int] {
            var values = [number()]
            while i < body.count, body[i] == UInt8(ascii: ";") {
                i += 1
                values.append(number())
            }
            return values
        }
        XCTAssertEqual(body[i], UInt8(ascii: "\""))
        i += 1
        let attributes = numbers()
        let width = attributes[2], height = attributes[3]
        var palette: [Int: [Int]] = [:]
        var pixels = [Int](repeating: -1, count: width * height)
        var color = 0, x = 0, top = 0
        while i < body.count {
            let c = body[i]
            switch c {
            case UInt8(ascii: "#"):
                i += 1
                let values = numbers()
                if values.count == 5 { palette[values[0]] = Array(values[2...]) } else { color = values[0] }
            case UInt8(ascii: "$"):
                x = 0
                i += 1
            case UInt8(ascii: "-"):
                x = 0
                top += 6
                i += 1
            case UInt8(ascii: "!"), 63...126:
                var count = 1
                if c == UInt8(ascii: "!") {
                    i += 1
                    count = number()
                }
                let bits = Int(body[i]) - 63
                for _ in 0..<count {
                    for dy in 0..<6 where bits & (1 << dy) != 0 && top + dy < height {
                        pixels[(top + dy) * width + x] = color
                    }
                    x += 1
                }
                i += 1
            default:
                XCTFail("unexpected byte \(c) in sixel data")
                i += 1
            }
        }
        return (width, height, palette, pixels)
    }

    func testSixelPaletteAndBandsDecodeToTheExactPixels() throws {
        // Every pixel a palette colour (grays and cube colours), runs and single pixels, 23 rows (a partial band).
        let colors = (0..<SixelEncoder.paletteSize).map(SixelEncoder.paletteColor)
        let image = raster(53, 23) { i in colors[(i / 7 * 5 + i % 3) % colors.count] }
        let (width, height, palette, indices) = try decodeSixel(SixelEncoder.encode(image))
        XCTAssertEqual(width, 53)
        XCTAssertEqual(height, 23)
        XCTAssertFalse(indices.contains(-1), "every pixel painted")
        for (n, index) in indices.enumerated() {
            XCTAssertEqual(colors[index], image.pixels[n], "pixel \(n)")
            let percent = try XCTUnwrap(palette[index], "colour \(index) defined")
            let c = colors[index]
            XCTAssertEqual(percent, [c.r, c.g, c.b].map { (Int($0) * 100 + 127) / 255 })
        }
    }

    func testASixelScaledUpRepeatsEachPixelOverTheScreenPixelsItCovers() throws {
        let colors = (0..<SixelEncoder.paletteSize).map(SixelEncoder.paletteColor)
        let image = raster(7, 5) { i in colors[(i * 29) % colors.count] }
        let (width, height, _, indices) = try decodeSixel(SixelEncoder.encode(image, width: 21, height: 13))
        XCTAssertEqual(width, 21)
        XCTAssertEqual(height, 13)
        for y in 0..<13 {
            for x in 0..<21 {
                XCTAssertEqual(colors[indices[y * 21 + x]], image[x * 7 / 21, y * 5 / 13], "pixel \(x),\(y)")
            }
        }
    }

    func testSixelMapsGraysToGraysAndColoursToTheCube() {
        for v in stride(from: 0, through: 255, by: 5) {
            let c = SixelEncoder.paletteColor(SixelEncoder.paletteIndex(RGB(UInt8(v), UInt8(v), UInt8(v))))
            XCTAssertEqual(c.r, c.g)
            XCTAssertLessThanOrEqual(abs(Int(c.r) - v), 2, "gray \(v)")
        }
        let red = SixelEncoder.paletteColor(SixelEncoder.paletteIndex(RGB(255, 95, 95)))
        XCTAssertGreaterThan(red.r, red.g)
        XCTAssertLessThanOrEqual(SixelEncoder.paletteSize, 256)
    }

    // MARK: iTerm2

    func testITermImageIsAPNGOfTheExactPixels() throws {
        let image = noisy(300, 250)  // over 65,535 bytes of scanlines: several stored blocks
        let escape = ITermEncoder.encode(image, columns: 30, rows: 12)
        let text = String(decoding: escape, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("\u{1B}]1337;File=inline=1;"))
        XCTAssertEqual(escape.last, 0x07)
        let colon = try XCTUnwrap(text.firstIndex(of: ":"))
        let arguments = text[text.index(text.startIndex, offsetBy: 7)..<colon].split(separator: ";")
        XCTAssertTrue(arguments.contains("width=30") && arguments.contains("height=12") && arguments.contains("preserveAspectRatio=0"))
        let png = try XCTUnwrap(Data(base64Encoded: String(text[text.index(after: colon)...].dropLast())))
        XCTAssertTrue(arguments.contains("size=\(png.count)"))
        XCTAssertEqual(try PNGDecoder.decode(Array(png)), image.pixels.flatMap { [$0.r, $0.g, $0.b] })
    }

    // MARK: tmux and the writer

    func testTmuxPassthroughDoublesEveryEscape() {
        XCTAssertEqual(GraphicsWriter.tmuxPassthrough([0x1B, 0x61, 0x1B, 0x5C]),
                       Array("\u{1B}Ptmux;\u{1B}\u{1B}a\u{1B}\u{1B}\\\u{1B}\\".utf8))
    }

    func testOnlyChangedImagesAreSentAndGoneOnesRepainted() {
        var writer = GraphicsWriter(tmux: false)
        let rect = Rect(x: 10, y: 2, width: 20, height: 8)
        let first = ImagePlacement(rect: rect, raster: noisy(40, 32), mode: .kitty, key: "slice 1")
        let sent = writer.update([first])
        XCTAssertTrue(sent.repaint.isEmpty)
        XCTAssertTrue(String(decoding: sent.bytes, as: UTF8.self).hasPrefix("\u{1B}7\u{1B}[3;11H\u{1B}[0m\u{1B}_Ga=T"))
        XCTAssertEqual(writer.update([first]).bytes, [], "the same image is not sent again")
        let second = ImagePlacement(rect: rect, raster: noisy(40, 32), mode: .kitty, key: "slice 2")
        let replaced = String(decoding: writer.update([second]).bytes, as: UTF8.self)
        XCTAssertTrue(replaced.hasPrefix("\u{1B}_Ga=d,d=I,i=1"), "the old image deleted first")
        XCTAssertTrue(replaced.contains("i=2,"))
        let gone = writer.update([])
        XCTAssertEqual(gone.repaint, [rect])
        var sixel = GraphicsWriter(tmux: false)
        _ = sixel.update([ImagePlacement(rect: rect, raster: noisy(8, 8), mode: .sixel, key: "a")])
        let sixelGone = sixel.update([])
        XCTAssertEqual(sixelGone.repaint, [rect])
        XCTAssertEqual(sixelGone.bytes, [], "sixel pixels are painted over from the cells, not deleted")
    }

    func testInsideTmuxEveryImageEscapeIsWrappedAndKittyUsesPlaceholders() {
        var writer = GraphicsWriter(tmux: true)
        let rect = Rect(x: 0, y: 1, width: 6, height: 3)
        let bytes = writer.update([ImagePlacement(rect: rect, raster: noisy(12, 9), mode: .kitty, key: "k")]).bytes
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertFalse(text.replacingOccurrences(of: "\u{1B}Ptmux;\u{1B}\u{1B}_G", with: "").contains("\u{1B}_G"),
                       "no APC outside passthrough")
        XCTAssertTrue(text.contains("U=1"))
        XCTAssertEqual(text.unicodeScalars.filter { $0 == KittyEncoder.placeholder }.count, 18, "6 x 3 placeholder cells")
    }
}

/// Just enough PNG reading for `ITermEncoder`'s output: chunks with CRCs, stored deflate blocks,
/// filter 0, 8-bit RGB.
enum PNGDecoder {
    struct Failure: Error { let reason: String }

    static func decode(_ png: [UInt8]) throws -> [UInt8] {
        guard png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Failure(reason: "signature") }
        func u32(_ i: Int) -> Int { Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3]) }
        var i = 8, width = 0, height = 0, idat: [UInt8] = []
        while i < png.count {
            let length = u32(i), type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
            let data = Array(png[(i + 8)..<(i + 8 + length)])
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in png[(i + 4)..<(i + 8 + length)] {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
            }
            guard crc ^ 0xFFFF_FFFF == UInt32(u32(i + 8 + length)) else { throw Failure(reason: "CRC of \(type)") }
            if type == "IHDR" {
                width = Int(data[0]) << 24 | Int(data[1]) << 16 | Int(data[2]) << 8 | Int(data[3])
                height = Int(data[4]) << 24 | Int(data[5]) << 16 | Int(data[6]) << 8 | Int(data[7])
                guard data[8] == 8, data[9] == 2 else { throw Failure(reason: "not 8-bit RGB") }
            }
            if type == "IDAT" { idat += data }
            i += 12 + length
        }
        guard idat.count > 6, idat[0] == 0x78 else { throw Failure(reason: "zlib header") }
        var p = 2, raw: [UInt8] = []
        while true {
            let header = idat[p]
            guard header & 0b110 == 0 else { throw Failure(reason: "not a stored block") }
            let length = Int(idat[p + 1]) | Int(idat[p + 2]) << 8
            guard length == ~(Int(idat[p + 3]) | Int(idat[p + 4]) << 8) & 0xFFFF else { throw Failure(reason: "LEN/NLEN") }
            raw += idat[(p + 5)..<(p + 5 + length)]
            p += 5 + length
            if header & 1 == 1 { break }
        }
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        let adler = UInt32(idat[p]) << 24 | UInt32(idat[p + 1]) << 16 | UInt32(idat[p + 2]) << 8 | UInt32(idat[p + 3])
        guard adler == b << 16 | a else { throw Failure(reason: "Adler-32") }
        guard raw.count == height * (1 + width * 3) else { throw Failure(reason: "size") }
        var pixels: [UInt8] = []
        let stride = 1 + width * 3
        for y in 0..<height {
            let start: Int = y * stride
            guard raw[start] == 0 else { throw Failure(reason: "filter") }
            pixels.append(contentsOf: raw[(start + 1)..<(start + stride)])
        }
        return pixels
    }
}
