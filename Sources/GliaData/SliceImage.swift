// Decoded pixels of one slice and its mask, as 8-bit values.
//
// Layout: row-major, top row first; an image's channels are interleaved per pixel (HWC), in the
// dataset's order: 0 = pre-contrast, 1 = FLAIR, 2 = post-contrast. Masks hold 0 or 1 per pixel
// (binarised on read: any nonzero source value is tumor).

/// An 8-bit multi-channel image, row-major, channels interleaved (HWC).
public struct SliceImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// `height * width * channels` bytes; pixel (x, y) channel c at `(y * width + x) * channels + c`.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * channels,
                     "SliceImage \(width)x\(height)x\(channels) needs \(width * height * channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Value of channel `c` at (x, y).
    @inlinable public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        pixels[(y * width + x) * channels + c]
    }
}

/// A binary mask: 1 where there is tumor, 0 elsewhere; row-major, top row first.
public struct SliceMask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `height * width` values, each 0 or 1.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height,
                     "SliceMask \(width)x\(height) needs \(width * height) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Number of tumor pixels.
    public var area: Int { pixels.reduce(0) { $0 + Int($1) } }

    /// Value at (x, y): 0 or 1.
    @inlinable public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }
}
