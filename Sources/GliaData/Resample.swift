// Resample: affine warps of 8-bit HWC buffers, shared by resizing on read and by augmentation.
//
// Coordinates are pixel centres: pixel (x, y) covers [x, x+1) x [y, y+1) and its centre is
// (x + 0.5, y + 0.5). A warp is given as the inverse map, destination centre -> source centre:
//   sx = a * dx + b * dy + tx,   sy = c * dx + d * dy + ty
// (in centre coordinates minus 0.5, i.e. integer values at pixel centres). Source positions more
// than a pixel outside the image read as 0 (the black background of an MRI slice); closer ones
// take the nearest edge pixel.

/// The inverse map of an affine warp (destination pixel -> source position), see the file header.
public struct AffineMap: Sendable, Equatable {
    public var a: Float, b: Float, c: Float, d: Float, tx: Float, ty: Float

    public init(a: Float, b: Float, c: Float, d: Float, tx: Float, ty: Float) {
        (self.a, self.b, self.c, self.d, self.tx, self.ty) = (a, b, c, d, tx, ty)
    }

    /// The identity map.
    public static let identity = AffineMap(a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0)

    /// Maps a `dw` x `dh` destination onto a `sw` x `sh` source so that both fill the same area.
    public static func resize(from sw: Int, _ sh: Int, to dw: Int, _ dh: Int) -> AffineMap {
        let sx = Float(sw) / Float(dw), sy = Float(sh) / Float(dh)
        return AffineMap(a: sx, b: 0, c: 0, d: sy, tx: 0.5 * sx - 0.5, ty: 0.5 * sy - 0.5)
    }

    /// Rotation by `degrees`, isotropic `scale` and optional horizontal flip about the centre of a
    /// `width` x `height` image (destination = transform(source); stored inverted).
    public static func about(width: Int, height: Int, degrees: Float, scale: Float, flip: Bool) -> AffineMap {
        let cx = Float(width - 1) / 2, cy = Float(height - 1) / 2
        let theta = degrees * .pi / 180
        // Inverse of (flip, then rotate by theta, then scale): scale^-1, rotate by -theta, flip.
        let cosT = cosf(theta) / scale, sinT = sinf(theta) / scale
        var a = cosT, b = sinT, c = -sinT, d = cosT
        if flip { a = -a; b = -b }
        return AffineMap(a: a, b: b, c: c, d: d, tx: cx - a * cx - b * cy, ty: cy - c * cx - d * cy)
    }
}

/// Bilinear and nearest-neighbour warps and resizes.
public enum Resample {
    /// `image` resized to `width` x `height` by bilinear interpolation.
    public static func bilinear(_ image: SliceImage, width: Int, height: Int) -> SliceImage {
        var out = [UInt8](repeating: 0, count: width * height * image.channels)
        warpBilinear(image.pixels, width: image.width, height: image.height, channels: image.channels,
                     into: &out, width: width, height: height,
                     map: .resize(from: image.width, image.height, to: width, height))
        return SliceImage(width: width, height: height, channels: image.channels, pixels: out)
    }

    /// `mask` resized to `width` x `height` by nearest neighbour (stays binary).
    public static func nearest(_ mask: SliceMask, width: Int, height: Int) -> SliceMask {
        var out = [UInt8](repeating: 0, count: width * height)
        warpNearest(mask.pixels, width: mask.width, height: mask.height, channels: 1,
                    into: &out, width: width, height: height,
                    map: .resize(from: mask.width, mask.height, to: width, height))
        return SliceMask(width: width, height: height, pixels: out)
    }

    /// Bilinear warp of an HWC buffer: out(dx, dy) = interpolated src at map(dx, dy).
    ///
    /// Fixed point throughout (this is the augmentation's hot loop): source positions in 16.16,
    /// weights in 8 bits per axis, so the four weights sum to 65536 and
    /// out = (sum of w * tap + 32768) >> 16 stays within 0...255 without clamping.
    /// `lookup` (256 entries), when given, maps every output value (intensity jitter in the same pass).
    public static func warpBilinear(_ src: [UInt8], width sw: Int, height sh: Int, channels: Int,
                                    into dst: inout [UInt8], width dw: Int, height dh: Int, map m: AffineMap,
                                    lookup: [UInt8]? = nil) {
        precondition(src.count == sw * sh * channels && dst.count == dw * dh * channels)
        precondition(lookup == nil || lookup!.count == 256, "lookup table needs 256 entries")
        let table = lookup ?? (0...255).map { UInt8($0) }
        if channels == 3 {
            warpBilinearRGB(src, width: sw, height: sh, into: &dst, width: dw, height: dh, map: m, lookup: table)
            return
        }
        let stepX = Int((m.a * 65536).rounded()), stepY = Int((m.c * 65536).rounded())
        table.withUnsafeBufferPointer { t in
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { o in
                for dy in 0..<dh {
                    var fx = Int(((m.b * Float(dy) + m.tx) * 65536).rounded())
                    var fy = Int(((m.d * Float(dy) + m.ty) * 65536).rounded())
                    var base = dy * dw * channels
                    for _ in 0..<dw {
                        let x0 = fx >> 16, y0 = fy >> 16
                        let wx = (fx >> 8) & 255, wy = (fy >> 8) & 255
                        let w00 = (256 - wx) * (256 - wy), w10 = wx * (256 - wy)
                        let w01 = (256 - wx) * wy, w11 = wx * wy
                        if x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh {
                            let p = (y0 &* sw &+ x0) &* channels, q = p &+ sw &* channels
                            for k in 0..<channels {
                                let v = w00 &* Int(s[p &+ k]) &+ w10 &* Int(s[p &+ channels &+ k])
                                    &+ w01 &* Int(s[q &+ k]) &+ w11 &* Int(s[q &+ channels &+ k])
                                o[base &+ k] = t[(v &+ 32768) >> 16]
                            }
                        } else if x0 < -1 || y0 < -1 || x0 >= sw || y0 >= sh {
                            for k in 0..<channels { o[base + k] = t[0] }
                        } else {
                            // Within a pixel of the border: taps are clamped to the edge, so a
                            // resize keeps its edge values.
                            for k in 0..<channels {
                                var v = 0
                                for corner in 0..<4 {
                                    let x = min(sw - 1, max(0, x0 + (corner & 1)))
                                    let y = min(sh - 1, max(0, y0 + (corner >> 1)))
                                    let w = corner == 0 ? w00 : corner == 1 ? w10 : corner == 2 ? w01 : w11
                                    v += w * Int(s[(y * sw + x) * channels + k])
                                }
                                o[base + k] = t[(v + 32768) >> 16]
                            }
                        }
                        fx &+= stepX
                        fy &+= stepY
                        base &+= channels
                    }
                }
            }
        }
        }
    }

    /// The RGB case, the augmentation's hot loop, three channels per multiply: each source pixel is
    /// packed as r | g << 21 | b << 42 in a UInt64, and the weights have 6 bits per axis (as OpenCV's
    /// 5-bit INTER_BITS, ample for augmentation), so a lane never exceeds 255 * 64 * 64 < 2^21 and
    /// the three lanes are interpolated by the same multiply-adds without carrying into each other.
    private static func warpBilinearRGB(_ src: [UInt8], width sw: Int, height sh: Int,
                                        into dst: inout [UInt8], width dw: Int, height dh: Int,
                                        map m: AffineMap, lookup: [UInt8]) {
        var packed = [UInt64](repeating: 0, count: sw * sh)
        src.withUnsafeBufferPointer { s in
            packed.withUnsafeMutableBufferPointer { p in
                for i in 0..<(sw * sh) {
                    p[i] = UInt64(s[3 &* i]) | UInt64(s[3 &* i &+ 1]) << 21 | UInt64(s[3 &* i &+ 2]) << 42
                }
            }
        }
        let stepX = Int((m.a * 65536).rounded()), stepY = Int((m.c * 65536).rounded())
        let half: UInt64 = 2048 | 2048 << 21 | 2048 << 42
        lookup.withUnsafeBufferPointer { t in
            packed.withUnsafeBufferPointer { s in
                dst.withUnsafeMutableBufferPointer { o in
                    for dy in 0..<dh {
                        var fx = Int(((m.b * Float(dy) + m.tx) * 65536).rounded())
                        var fy = Int(((m.d * Float(dy) + m.ty) * 65536).rounded())
                        var base = dy * dw * 3
                        for _ in 0..<dw {
                            defer {
                                fx &+= stepX
                                fy &+= stepY
                                base &+= 3
                            }
                            let x0 = fx >> 16, y0 = fy >> 16
                            if x0 < -1 || y0 < -1 || x0 >= sw || y0 >= sh {
                                o[base] = t[0]
                                o[base &+ 1] = t[0]
                                o[base &+ 2] = t[0]
                                continue
                            }
                            let wx = UInt64((fx >> 10) & 63), wy = UInt64((fy >> 10) & 63)
                            let p00: UInt64, p10: UInt64, p01: UInt64, p11: UInt64
                            if x0 >= 0 && y0 >= 0 && x0 &+ 1 < sw && y0 &+ 1 < sh {
                                let p = y0 &* sw &+ x0
                                (p00, p10, p01, p11) = (s[p], s[p &+ 1], s[p &+ sw], s[p &+ sw &+ 1])
                            } else {
                                // Within a pixel of the border: clamp taps to the edge.
                                let xa = min(sw - 1, max(0, x0)), xb = min(sw - 1, max(0, x0 &+ 1))
                                let ya = min(sh - 1, max(0, y0)), yb = min(sh - 1, max(0, y0 &+ 1))
                                (p00, p10, p01, p11) = (s[ya * sw + xa], s[ya * sw + xb], s[yb * sw + xa], s[yb * sw + xb])
                            }
                            let top = p00 &* (64 &- wx) &+ p10 &* wx
                            let bottom = p01 &* (64 &- wx) &+ p11 &* wx
                            let v = (top &* (64 &- wy) &+ bottom &* wy &+ half) >> 12
                            o[base] = t[Int(v & 0xFF)]
                            o[base &+ 1] = t[Int((v >> 21) & 0xFF)]
                            o[base &+ 2] = t[Int((v >> 42) & 0xFF)]
                        }
                    }
                }
            }
        }
    }

    /// Nearest-neighbour warp of an HWC buffer (masks: keeps values exactly). 16.16 fixed point.
    public static func warpNearest(_ src: [UInt8], width sw: Int, height sh: Int, channels: Int,
                                   into dst: inout [UInt8], width dw: Int, height dh: Int, map m: AffineMap) {
        precondition(src.count == sw * sh * channels && dst.count == dw * dh * channels)
        let stepX = Int((m.a * 65536).rounded()), stepY = Int((m.c * 65536).rounded())
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { o in
                for dy in 0..<dh {
                    // +0.5 so that the shift rounds to the nearest centre.
                    var fx = Int(((m.b * Float(dy) + m.tx + 0.5) * 65536).rounded())
                    var fy = Int(((m.d * Float(dy) + m.ty + 0.5) * 65536).rounded())
                    var base = dy * dw * channels
                    for _ in 0..<dw {
                        let x = fx >> 16, y = fy >> 16
                        if x >= 0 && y >= 0 && x < sw && y < sh {
                            let p = (y &* sw &+ x) &* channels
                            for k in 0..<channels { o[base &+ k] = s[p &+ k] }
                        } else {
                            for k in 0..<channels { o[base &+ k] = 0 }
                        }
                        fx &+= stepX
                        fy &+= stepY
                        base &+= channels
                    }
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
