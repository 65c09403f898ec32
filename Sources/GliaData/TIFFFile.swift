// TIFFFile: the only code that talks to libtiff. Everything above it sees 8-bit HWC pixel buffers.
//
// Reading: 8- or 16-bit unsigned or signed samples, grayscale (min-is-black or min-is-white) or RGB(A), in
// strips or tiles, contiguous or separate planes, any compression libtiff decodes. Anything else
// libtiff can render (palette, YCbCr/JPEG, 1-bit, ...) goes through TIFFReadRGBAImageOriented, which
// yields 8-bit RGB. 16-bit samples are scaled to 8 bits by the image's own maximum (MRI exports use a
// small part of the 16-bit range, so a fixed >> 8 would leave them nearly black). Signed samples are
// moved onto the unsigned range by adding 2^(bits-1), so the most negative value is black (libtiff's
// RGBA path would read -128 as 128, a mid-grey background); `signedZero` remembers where 0 went, for
// masks.
//
// Messages: every libtiff error and warning for a file is captured per handle (shim.h's
// tiffw_open) and returned to the caller; libtiff's global handlers, which print to stderr, are
// replaced by ones that store into `TIFFDiagnostics`, so nothing is ever printed over the screen.
import CTIFF
import Foundation
import Synchronization

/// libtiff messages that arrived without a file handle to attribute them to (rare: most go to the
/// file being read). Kept so that they are never printed over the terminal and remain inspectable.
public enum TIFFDiagnostics {
    static let unattributed = Mutex<[String]>([])
    /// Unattributed libtiff messages so far (at most the last 100).
    public static var messages: [String] { unattributed.withLock { $0 } }

    static let installed: Bool = {
        tiffw_install_global_handlers { text in
            guard let text else { return }
            let message = String(cString: text)
            TIFFDiagnostics.unattributed.withLock { list in
                list.append(message)
                if list.count > 100 { list.removeFirst(list.count - 100) }
            }
        }
        return true
    }()
}

/// Raw decoded pixels of a TIFF's first image, 8 bits per sample, channels interleaved.
struct RawPixels {
    var width: Int
    var height: Int
    var channels: Int
    var pixels: [UInt8]
    var warnings: [String]
    /// For signed samples, the 8-bit value that a stored 0 became (masks: tumor is anything else);
    /// nil for unsigned samples.
    var signedZero: UInt8? = nil
}

/// An open libtiff handle with its captured messages; closes on deinit.
final class TIFFHandle {
    let url: URL
    let tiff: OpaquePointer
    private let errors: UnsafeMutablePointer<tiffw_messages>
    private let warningsBuffer: UnsafeMutablePointer<tiffw_messages>

    init(url: URL, mode: String) throws {
        _ = TIFFDiagnostics.installed
        // Opening a FIFO for reading would block until a writer comes; only regular files are read.
        if mode.hasPrefix("r"), let kind = FileKind.of(url.path), kind != .regular {
            throw TIFFError(url: url, message: "is \(kind.name), not a regular file; not read")
        }
        self.url = url
        errors = .allocate(capacity: 1)
        errors.initialize(to: tiffw_messages())
        warningsBuffer = .allocate(capacity: 1)
        warningsBuffer.initialize(to: tiffw_messages())
        guard let t = tiffw_open(url.path, mode, errors, warningsBuffer) else {
            let message = Self.text(errors.pointee)
            errors.deallocate()
            warningsBuffer.deallocate()
            throw TIFFError(url: url, message: message.isEmpty ? "cannot open" : message)
        }
        tiff = t
    }

    deinit {
        TIFFClose(tiff)
        errors.deallocate()
        warningsBuffer.deallocate()
    }

    var errorText: String { Self.text(errors.pointee) }
    var warnings: [String] {
        let text = Self.text(warningsBuffer.pointee)
        return text.isEmpty ? [] : text.split(separator: "\n").map(String.init)
    }

    func failure(_ what: String) -> TIFFError {
        let detail = errorText
        return TIFFError(url: url, message: detail.isEmpty ? what : "\(what): \(detail)")
    }

    private static func text(_ m: tiffw_messages) -> String {
        withUnsafeBytes(of: m.text) { raw in
            String(decoding: raw.prefix(min(m.length, raw.count)), as: UTF8.self)
        }
    }

    func u16(_ tag: Int32, defaulted: Bool = true) -> UInt16? {
        var v: UInt16 = 0
        let ok = defaulted ? tiffw_get_u16_defaulted(tiff, UInt32(tag), &v) : tiffw_get_u16(tiff, UInt32(tag), &v)
        return ok == 1 ? v : nil
    }

    func u32(_ tag: Int32) -> UInt32? {
        var v: UInt32 = 0
        return tiffw_get_u32(tiff, UInt32(tag), &v) == 1 ? v : nil
    }

    /// The first image's layout, from its directory entries only.
    func header() throws -> TIFFHeader {
        guard let w = u32(TIFFTAG_IMAGEWIDTH), let h = u32(TIFFTAG_IMAGELENGTH), w > 0, h > 0 else {
            throw failure("no image size in TIFF directory")
        }
        return TIFFHeader(
            width: Int(w), height: Int(h),
            samplesPerPixel: Int(u16(TIFFTAG_SAMPLESPERPIXEL) ?? 1),
            bitsPerSample: Int(u16(TIFFTAG_BITSPERSAMPLE) ?? 1),
            photometric: Int(u16(TIFFTAG_PHOTOMETRIC, defaulted: false) ?? UInt16(PHOTOMETRIC_MINISBLACK)),
            compression: Int(u16(TIFFTAG_COMPRESSION) ?? UInt16(COMPRESSION_NONE)),
            isTiled: TIFFIsTiled(tiff) != 0)
    }

    /// Decodes the first image to 8-bit samples.
    func read() throws -> RawPixels {
        let head = try header()
        let format = u16(TIFFTAG_SAMPLEFORMAT) ?? UInt16(SAMPLEFORMAT_UINT)
        let planar = u16(TIFFTAG_PLANARCONFIG) ?? UInt16(PLANARCONFIG_CONTIG)
        let isSigned = format == UInt16(SAMPLEFORMAT_INT)
        let direct = (head.bitsPerSample == 8 || head.bitsPerSample == 16)
            && (format == UInt16(SAMPLEFORMAT_UINT) || isSigned)
            && [Int(PHOTOMETRIC_MINISBLACK), Int(PHOTOMETRIC_MINISWHITE), Int(PHOTOMETRIC_RGB)].contains(head.photometric)
        guard direct else { return try readRGBA(head) }
        let bytesPerSample = head.bitsPerSample / 8
        let spp = head.samplesPerPixel
        let (w, h) = (head.width, head.height)
        // Bounds that keep a damaged or hostile header from asking for gigabytes.
        guard w <= 1 << 15, h <= 1 << 15, spp >= 1, spp <= 8, w * h * spp * bytesPerSample <= 1 << 28 else {
            throw failure("unsupported layout \(w)x\(h) with \(spp) samples per pixel")
        }
        // Samples at full depth, interleaved (HWC), before scaling to 8 bits.
        var samples = [UInt8](repeating: 0, count: w * h * spp * bytesPerSample)
        try samples.withUnsafeMutableBytes { dst in
            let planes = planar == UInt16(PLANARCONFIG_SEPARATE) ? spp : 1
            let samplesPerBlockPixel = planes == 1 ? spp : 1
            if head.isTiled {
                guard let tw = u32(TIFFTAG_TILEWIDTH), let th = u32(TIFFTAG_TILELENGTH), tw > 0, th > 0 else {
                    throw failure("tiled TIFF without a usable tile size")
                }
                // Tiles are multiples of 16 pixels, so none needs to exceed the image by more than 15:
                // a larger one is a hostile header asking for a buffer far beyond the image.
                guard Int(tw) <= (w + 15) / 16 * 16, Int(th) <= (h + 15) / 16 * 16 else {
                    throw failure("tile size \(tw)x\(th) exceeds the \(w)x\(h) image")
                }
                var tile = [UInt8](repeating: 0, count: max(Int(TIFFTileSize(tiff)), Int(tw * th) * samplesPerBlockPixel * bytesPerSample))
                for plane in 0..<planes {
                    for ty in stride(from: 0, to: h, by: Int(th)) {
                        for tx in stride(from: 0, to: w, by: Int(tw)) {
                            let index = TIFFComputeTile(tiff, UInt32(tx), UInt32(ty), 0, UInt16(plane))
                            let n = tile.withUnsafeMutableBytes { TIFFReadEncodedTile(tiff, index, $0.baseAddress, -1) }
                            if n < Int(tw * th) * samplesPerBlockPixel * bytesPerSample {
                                throw failure(n < 0 ? "cannot decode tile \(index)" : "tile \(index) is truncated")
                            }
                            copyBlock(tile, blockWidth: Int(tw), x0: tx, y0: ty, rows: min(Int(th), h - ty),
                                      cols: min(Int(tw), w - tx), plane: plane, planes: planes, spp: spp,
                                      bytesPerSample: bytesPerSample, width: w, into: dst)
                        }
                    }
                }
            } else {
                let rowsPerStrip = max(1, min(Int(u32(TIFFTAG_ROWSPERSTRIP) ?? UInt32(h)), h))
                let stripsPerPlane = (h + rowsPerStrip - 1) / rowsPerStrip
                let rowBytes = w * samplesPerBlockPixel * bytesPerSample
                // Interleaved strips decode straight into the image; separate planes go through
                // a strip buffer and are interleaved by copyBlock.
                var strip = [UInt8](repeating: 0, count: planes == 1 ? 0 : max(Int(TIFFStripSize(tiff)), rowsPerStrip * rowBytes))
                for plane in 0..<planes {
                    for s in 0..<stripsPerPlane {
                        let index = UInt32(plane * stripsPerPlane + s)
                        let rows = min(rowsPerStrip, h - s * rowsPerStrip)
                        let expected = rows * rowBytes
                        let n: Int
                        if planes == 1 {
                            n = Int(TIFFReadEncodedStrip(tiff, index, dst.baseAddress! + s * rowsPerStrip * rowBytes, tmsize_t(expected)))
                        } else {
                            n = strip.withUnsafeMutableBytes { Int(TIFFReadEncodedStrip(tiff, index, $0.baseAddress, -1)) }
                        }
                        if n < expected {
                            throw failure(n < 0 ? "cannot decode strip \(index)" : "strip \(index) is truncated")
                        }
                        if planes > 1 {
                            copyBlock(strip, blockWidth: w, x0: 0, y0: s * rowsPerStrip, rows: rows, cols: w,
                                      plane: plane, planes: planes, spp: spp, bytesPerSample: bytesPerSample,
                                      width: w, into: dst)
                        }
                    }
                }
            }
        }
        if isSigned {
            // Two's complement plus 2^(bits-1) is the sign bit flipped.
            if bytesPerSample == 1 {
                for i in samples.indices { samples[i] ^= 0x80 }
            } else {
                samples.withUnsafeMutableBytes { raw in
                    let values = raw.bindMemory(to: UInt16.self)
                    for i in values.indices { values[i] ^= 0x8000 }
                }
            }
        }
        let peak = bytesPerSample == 1 ? 255 : Self.peak16(samples)
        var pixels = bytesPerSample == 1 ? samples : Self.scale16(samples, peak: peak)
        var signedZero = isSigned ? (bytesPerSample == 1 ? 0x80 : Self.scale16(0x8000, peak: peak)) : nil
        if head.photometric == Int(PHOTOMETRIC_MINISWHITE) {
            pixels.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = 255 &- p[i] } }
            signedZero = signedZero.map { 255 &- $0 }
        }
        return RawPixels(width: w, height: h, channels: spp, pixels: pixels, warnings: warnings, signedZero: signedZero)
    }

    /// Copies a decoded strip or tile (rows x cols pixels at (x0, y0)) into the interleaved image.
    private func copyBlock(_ block: [UInt8], blockWidth: Int, x0: Int, y0: Int, rows: Int, cols: Int,
                           plane: Int, planes: Int, spp: Int, bytesPerSample: Int, width: Int,
                           into dst: UnsafeMutableRawBufferPointer) {
        block.withUnsafeBytes { src in
            if planes == 1 {
                let rowBytes = cols * spp * bytesPerSample
                for r in 0..<rows {
                    let from = src.baseAddress! + r * blockWidth * spp * bytesPerSample
                    let to = dst.baseAddress! + ((y0 + r) * width + x0) * spp * bytesPerSample
                    to.copyMemory(from: from, byteCount: rowBytes)
                }
            } else {
                for r in 0..<rows {
                    for c in 0..<cols {
                        let from = (r * blockWidth + c) * bytesPerSample
                        let to = (((y0 + r) * width + x0 + c) * spp + plane) * bytesPerSample
                        for b in 0..<bytesPerSample { dst[to + b] = src[from + b] }
                    }
                }
            }
        }
    }

    /// 16-bit native-endian samples to 8 bits, scaled by the image's maximum (`peak`). A nonzero
    /// sample stays nonzero (at least 1), so a 16-bit mask binarises the same after scaling.
    private static func scale16(_ samples: [UInt8], peak: Int) -> [UInt8] {
        samples.withUnsafeBytes { raw in raw.bindMemory(to: UInt16.self).map { scale16($0, peak: peak) } }
    }

    private static func scale16(_ value: UInt16, peak: Int) -> UInt8 {
        value == 0 ? 0 : UInt8(min(255, max(1, (Int(value) * 255 + peak / 2) / peak)))
    }

    /// The largest of 16-bit native-endian samples, at least 1.
    private static func peak16(_ samples: [UInt8]) -> Int {
        samples.withUnsafeBytes { max(1, Int($0.bindMemory(to: UInt16.self).max() ?? 1)) }
    }

    /// Anything libtiff can render as RGBA (palette, YCbCr, bilevel...), as 8-bit RGB, top row first.
    private func readRGBA(_ head: TIFFHeader) throws -> RawPixels {
        let (w, h) = (head.width, head.height)
        guard w <= 1 << 15, h <= 1 << 15, w * h <= 1 << 26 else { throw failure("image \(w)x\(h) is too large") }
        var raster = [UInt32](repeating: 0, count: w * h)
        let ok = raster.withUnsafeMutableBufferPointer {
            TIFFReadRGBAImageOriented(tiff, UInt32(w), UInt32(h), $0.baseAddress, Int32(ORIENTATION_TOPLEFT), 0)
        }
        guard ok == 1 else { throw failure("cannot decode image") }
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let v = raster[i]  // ABGR packed: R in the low byte
            pixels[i * 3] = UInt8(v & 0xFF)
            pixels[i * 3 + 1] = UInt8((v >> 8) & 0xFF)
            pixels[i * 3 + 2] = UInt8((v >> 16) & 0xFF)
        }
        return RawPixels(width: w, height: h, channels: 3, pixels: pixels,
                         warnings: warnings + ["decoded through libtiff's RGBA path (photometric \(head.photometric), \(head.bitsPerSample)-bit)"])
    }

    /// Writes one 8-bit image (1 or 3 channels, interleaved) as a single strip.
    func write(width: Int, height: Int, channels: Int, pixels: [UInt8], compression: TIFFCompression) throws {
        let ok = tiffw_set_u32(tiff, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(width)) == 1
            && tiffw_set_u32(tiff, UInt32(TIFFTAG_IMAGELENGTH), UInt32(height)) == 1
            && tiffw_set_u16(tiff, UInt32(TIFFTAG_BITSPERSAMPLE), 8) == 1
            && tiffw_set_u16(tiff, UInt32(TIFFTAG_SAMPLESPERPIXEL), UInt16(channels)) == 1
            && tiffw_set_u16(tiff, UInt32(TIFFTAG_PHOTOMETRIC),
                             UInt16(channels == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK)) == 1
            && tiffw_set_u16(tiff, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG)) == 1
            && tiffw_set_u32(tiff, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(height)) == 1
            && tiffw_set_u16(tiff, UInt32(TIFFTAG_COMPRESSION),
                             UInt16(compression == .deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE)) == 1
            && (compression == .none || tiffw_set_u16(tiff, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) == 1)
        guard ok else { throw failure("cannot set TIFF fields") }
        var data = pixels
        let n = data.withUnsafeMutableBytes { TIFFWriteEncodedStrip(tiff, 0, $0.baseAddress, tmsize_t($0.count)) }
        guard n == pixels.count, TIFFWriteDirectory(tiff) == 1 else { throw failure("cannot write pixels") }
    }
}
