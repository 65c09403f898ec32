// TIFFImage: reading slices and masks from TIFF files, and writing them.
//
// Conventions: the models see 256x256 slices. An image of another size is resized (bilinear) and a
// mask (nearest neighbour, so it stays binary), with a warning in the result. Images come back with
// 3 channels (a grayscale image is repeated into all three, an alpha channel is dropped, each with a
// warning); masks with 1 channel, binarised: any nonzero sample in any channel is tumor.
import Foundation

/// The layout of a TIFF's first image, read from its directory without decoding pixels.
public struct TIFFHeader: Sendable, Hashable, Codable {
    public var width: Int
    public var height: Int
    public var samplesPerPixel: Int
    public var bitsPerSample: Int
    /// TIFF photometric interpretation code (0 = min-is-white, 1 = min-is-black, 2 = RGB, 3 = palette...).
    public var photometric: Int
    /// TIFF compression code (1 = none, 8 = Adobe Deflate, ...).
    public var compression: Int
    public var isTiled: Bool
}

/// A TIFF that could not be opened, decoded or written; names the file and libtiff's reason.
public struct TIFFError: Error, CustomStringConvertible, LocalizedError {
    public let url: URL
    public let message: String
    public init(url: URL, message: String) {
        self.url = url
        // libtiff often names the file as the message's module; the path is already in `url`.
        self.message = message.replacingOccurrences(of: url.path + ": ", with: "")
            .replacingOccurrences(of: "\n", with: "; ")
    }
    public var description: String { "\(url.path): \(message)" }
    public var errorDescription: String? { description }
}

/// Compression for written TIFFs.
public enum TIFFCompression: Sendable {
    /// Uncompressed.
    case none
    /// Adobe Deflate with the horizontal predictor: lossless and about 30x smaller on MRI slices.
    case deflate
}

/// A decoded value with the non-fatal remarks made while decoding it. Callers decide whether to
/// show them.
public struct Decoded<Value: Sendable>: Sendable {
    public var value: Value
    /// libtiff's own warnings for the file.
    public var warnings: [String]
    /// What was changed to fit the slice conventions (resized, channels repeated or dropped).
    public var conversions: [String]
}

/// Reads and writes slice images and masks. Only this file and TIFFFile.swift know about libtiff.
public enum TIFFImage {
    /// The side length slices are brought to on read.
    public static let sliceSide = 256

    /// Reads the first image's directory only (no pixels): size, channels, depth, compression.
    public static func readHeader(_ url: URL) throws -> TIFFHeader {
        try TIFFHandle(url: url, mode: "r").header()
    }

    /// Decodes a slice as 3-channel 8-bit, resized to `side` x `side` when needed (pass nil to
    /// keep the file's size).
    public static func readImage(_ url: URL, side: Int? = sliceSide) throws -> Decoded<SliceImage> {
        var raw = try TIFFHandle(url: url, mode: "r").read()
        var conversions: [String] = []
        if raw.signedZero != nil { conversions.append("signed samples: shifted so that the most negative value is black") }
        if raw.channels != 3 {
            conversions.append(raw.channels == 1 || raw.channels == 2
                ? "grayscale image: its channel is repeated into all three"
                : "\(raw.channels) channels: the first three are used")
            raw = toThreeChannels(raw)
        }
        var image = SliceImage(width: raw.width, height: raw.height, channels: 3, pixels: raw.pixels)
        if let side, image.width != side || image.height != side {
            conversions.append("resized from \(image.width)x\(image.height) to \(side)x\(side) (bilinear)")
            image = Resample.bilinear(image, width: side, height: side)
        }
        return Decoded(value: image, warnings: raw.warnings, conversions: conversions)
    }

    /// Decodes a mask, binarised (any nonzero sample is 1), resized by nearest neighbour to
    /// `side` x `side` when needed.
    public static func readMask(_ url: URL, side: Int? = sliceSide) throws -> Decoded<SliceMask> {
        var raw = try TIFFHandle(url: url, mode: "r").read()
        var conversions: [String] = []
        if raw.channels != 1 {
            conversions.append("mask has \(raw.channels) channels: any nonzero channel counts as tumor")
        }
        if let zero = raw.signedZero {
            // Tumor is any stored value other than 0; after the shift, 0 sits at `zero`.
            conversions.append("signed mask samples: any nonzero value counts as tumor")
            raw.pixels = raw.pixels.map { $0 == zero ? 0 : 1 }
        }
        var binary = [UInt8](repeating: 0, count: raw.width * raw.height)
        raw.pixels.withUnsafeBufferPointer { src in
            binary.withUnsafeMutableBufferPointer { dst in
                let c = raw.channels
                if c == 1 {
                    for i in 0..<dst.count { dst[i] = src[i] == 0 ? 0 : 1 }
                } else {
                    for i in 0..<dst.count {
                        var any: UInt8 = 0
                        for k in 0..<c { any |= src[i * c + k] }
                        dst[i] = any == 0 ? 0 : 1
                    }
                }
            }
        }
        var mask = SliceMask(width: raw.width, height: raw.height, pixels: binary)
        if let side, mask.width != side || mask.height != side {
            conversions.append("resized from \(mask.width)x\(mask.height) to \(side)x\(side) (nearest)")
            mask = Resample.nearest(mask, width: side, height: side)
        }
        return Decoded(value: mask, warnings: raw.warnings, conversions: conversions)
    }

    /// Writes an 8-bit image with 1 (grayscale) or 3 (RGB) channels.
    public static func write(_ image: SliceImage, to url: URL, compression: TIFFCompression = .deflate) throws {
        guard image.channels == 1 || image.channels == 3 else {
            throw TIFFError(url: url, message: "can only write 1 or 3 channels, got \(image.channels)")
        }
        try TIFFHandle(url: url, mode: "w").write(width: image.width, height: image.height,
                                                  channels: image.channels, pixels: image.pixels,
                                                  compression: compression)
    }

    /// Writes a mask as 8-bit grayscale with 0 for background and 255 for tumor (the dataset's
    /// convention).
    public static func write(_ mask: SliceMask, to url: URL, compression: TIFFCompression = .deflate) throws {
        try TIFFHandle(url: url, mode: "w").write(width: mask.width, height: mask.height, channels: 1,
                                                  pixels: mask.pixels.map { $0 == 0 ? 0 : 255 },
                                                  compression: compression)
    }

    private static func toThreeChannels(_ raw: RawPixels) -> RawPixels {
        let n = raw.width * raw.height
        var out = [UInt8](repeating: 0, count: n * 3)
        let c = raw.channels
        for i in 0..<n {
            for k in 0..<3 { out[i * 3 + k] = raw.pixels[i * c + (c >= 3 ? k : 0)] }
        }
        return RawPixels(width: raw.width, height: raw.height, channels: 3, pixels: out, warnings: raw.warnings,
                         signedZero: raw.signedZero)
    }
}
