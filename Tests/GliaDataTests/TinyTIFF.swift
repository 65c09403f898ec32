// TinyTIFF: an independent, uncompressed little-endian TIFF encoder for tests. It writes the
// layouts Glia's own writer never produces (several strips, tiles, separate planes, 16-bit,
// min-is-white, palette, extra tags), so the reader is tested against bytes it did not write.
import Foundation
import XCTest

struct TinyTIFF {
    var width: Int
    var height: Int
    var samplesPerPixel = 1
    var bitsPerSample = 8
    /// 0 = min-is-white, 1 = min-is-black, 2 = RGB, 3 = palette.
    var photometric: UInt16 = 1
    var planarSeparate = false
    var rowsPerStrip: Int?
    var tile: (width: Int, height: Int)?
    /// 3 x 2^bits entries (palette images).
    var colorMap: [UInt16]?
    /// Extra SHORT tags, e.g. a private tag libtiff warns about.
    var extraShortTags: [(UInt16, UInt16)] = []
    /// Points the last strip or tile past the end of the file, as in a file cut short: the
    /// directory reads, the pixels do not.
    var lastBlockMissing = false

    init(width: Int, height: Int, samplesPerPixel: Int = 1, bitsPerSample: Int = 8, photometric: UInt16 = 1) {
        self.width = width
        self.height = height
        self.samplesPerPixel = samplesPerPixel
        self.bitsPerSample = bitsPerSample
        self.photometric = photometric
    }

    /// Encodes interleaved (HWC) samples.
    func encode(_ samples: [UInt16]) -> Data {
        precondition(samples.count == width * height * samplesPerPixel)
        let bytesPerSample = bitsPerSample / 8
        let planes = planarSeparate ? samplesPerPixel : 1
        let perPixel = planarSeparate ? 1 : samplesPerPixel
        func put(_ v: UInt16, _ out: inout [UInt8]) {
            out.append(UInt8(v & 0xFF))
            if bytesPerSample == 2 { out.append(UInt8(v >> 8)) }
        }
        func sample(_ x: Int, _ y: Int, _ plane: Int, _ k: Int) -> UInt16 {
            samples[(y * width + x) * samplesPerPixel + (planarSeparate ? plane : k)]
        }
        // Blocks (strips or tiles), each a run of rows of `perPixel` samples.
        var blocks: [[UInt8]] = []
        for plane in 0..<planes {
            if let tile {
                for ty in stride(from: 0, to: height, by: tile.height) {
                    for tx in stride(from: 0, to: width, by: tile.width) {
                        var b: [UInt8] = []
                        for y in ty..<(ty + tile.height) {
                            for x in tx..<(tx + tile.width) {
                                for k in 0..<perPixel { put(x < width && y < height ? sample(x, y, plane, k) : 0, &b) }
                            }
                        }
                        blocks.append(b)
                    }
                }
            } else {
                let rps = rowsPerStrip ?? height
                for y0 in stride(from: 0, to: height, by: rps) {
                    var b: [UInt8] = []
                    for y in y0..<min(height, y0 + rps) {
                        for x in 0..<width { for k in 0..<perPixel { put(sample(x, y, plane, k), &b) } }
                    }
                    blocks.append(b)
                }
            }
        }
        var out: [UInt8] = [0x49, 0x49, 42, 0, 0, 0, 0, 0]
        var offsets: [UInt32] = []
        for b in blocks {
            offsets.append(UInt32(out.count))
            out += b
            if out.count % 2 == 1 { out.append(0) }
        }
        if lastBlockMissing { offsets[offsets.count - 1] = UInt32(out.count + 1_000_000) }
        // Entries: (tag, type, values); type 3 = SHORT, 4 = LONG.
        var entries: [(UInt16, UInt16, [UInt32])] = [
            (256, 4, [UInt32(width)]), (257, 4, [UInt32(height)]),
            (258, 3, Array(repeating: UInt32(bitsPerSample), count: samplesPerPixel)),
            (259, 3, [1]), (262, 3, [UInt32(photometric)]),
            (277, 3, [UInt32(samplesPerPixel)]), (284, 3, [planarSeparate ? 2 : 1]),
        ]
        if let tile {
            entries += [(322, 4, [UInt32(tile.width)]), (323, 4, [UInt32(tile.height)]),
                        (324, 4, offsets), (325, 4, blocks.map { UInt32($0.count) })]
        } else {
            entries += [(273, 4, offsets), (278, 4, [UInt32(rowsPerStrip ?? height)]),
                        (279, 4, blocks.map { UInt32($0.count) })]
        }
        if let colorMap { entries.append((320, 3, colorMap.map(UInt32.init))) }
        for (tag, value) in extraShortTags { entries.append((tag, 3, [UInt32(value)])) }
        entries.sort { $0.0 < $1.0 }
        // Out-of-line value arrays first, then the IFD.
        var valueOffsets: [Int: UInt32] = [:]
        for (i, e) in entries.enumerated() where e.2.count * (e.1 == 3 ? 2 : 4) > 4 {
            valueOffsets[i] = UInt32(out.count)
            for v in e.2 {
                if e.1 == 3 { le16(UInt16(v), &out) } else { le32(v, &out) }
            }
        }
        if out.count % 2 == 1 { out.append(0) }
        let ifd = UInt32(out.count)
        var header: [UInt8] = []
        le32(ifd, &header)
        out.replaceSubrange(4..<8, with: header)
        le16(UInt16(entries.count), &out)
        for (i, e) in entries.enumerated() {
            le16(e.0, &out)
            le16(e.1, &out)
            le32(UInt32(e.2.count), &out)
            if let offset = valueOffsets[i] {
                le32(offset, &out)
            } else if e.1 == 3 {
                le16(UInt16(e.2[0]), &out)
                le16(e.2.count > 1 ? UInt16(e.2[1]) : 0, &out)
            } else {
                le32(e.2[0], &out)
            }
        }
        le32(0, &out)
        return Data(out)
    }

    private func le16(_ v: UInt16, _ out: inout [UInt8]) { out += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private func le32(_ v: UInt32, _ out: inout [UInt8]) {
        out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("glia-data-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// A test pattern: sample k of pixel (x, y) = (x * 7 + y * 13 + k * 50) mod 256.
func pattern(width: Int, height: Int, channels: Int) -> [UInt8] {
    var out: [UInt8] = []
    for y in 0..<height { for x in 0..<width { for k in 0..<channels { out.append(UInt8((x * 7 + y * 13 + k * 50) % 256)) } } }
    return out
}
