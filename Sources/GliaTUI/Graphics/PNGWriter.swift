// A minimal PNG writer for iTerm2's inline images (which take a file format, not raw pixels):
// 8-bit RGB, no interlace, filter 0 on every row, and the zlib stream made of stored (uncompressed)
// deflate blocks, so no compressor is needed; the bytes are about the raw pixels' size, which
// base64 and an SSH link's own compression handle. CRC-32 and Adler-32 as the PNG and zlib
// specifications define them.

/// Writes rasters as PNG files.
public enum PNGWriter {
    /// The PNG file of `raster`.
    public static func encode(_ raster: Raster) -> [UInt8] {
        var scanlines = [UInt8]()
        scanlines.reserveCapacity(raster.height * (1 + raster.width * 3))
        for y in 0..<raster.height {
            scanlines.append(0)
            for x in 0..<raster.width {
                let p = raster.pixels[y * raster.width + x]
                scanlines.append(p.r)
                scanlines.append(p.g)
                scanlines.append(p.b)
            }
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(raster.width)) + bigEndian(UInt32(raster.height))
        header += [8, 2, 0, 0, 0]  // 8 bits, RGB, deflate, filter method 0, no interlace
        chunk("IHDR", header, into: &png)
        chunk("IDAT", zlibStored(scanlines), into: &png)
        chunk("IEND", [], into: &png)
        return png
    }

    /// A zlib stream of stored deflate blocks (at most 65,535 bytes each).
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out.append(final)
            out.append(UInt8(length & 0xFF))
            out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xFF))
            out.append(UInt8((~length >> 8) & 0xFF))
            out.append(contentsOf: data[offset..<(offset + length)])
            offset += length
        } while offset < data.count
        return out + bigEndian(adler32(data))
    }

    private static func chunk(_ type: String, _ data: [UInt8], into png: inout [UInt8]) {
        let typed = Array(type.utf8) + data
        png += bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    /// CRC-32 (polynomial 0xEDB88320, reflected), as PNG chunks use.
    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Adler-32, the zlib stream's checksum.
    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        // 5552 bytes is the most that can be summed before the 32-bit sums must be reduced.
        var index = 0
        while index < data.count {
            let end = min(data.count, index + 5552)
            for i in index..<end {
                a += UInt32(data[i])
                b += a
            }
            a %= 65_521
            b %= 65_521
            index = end
        }
        return b << 16 | a
    }
}
