// Resample: affine warps of 8-bit HWC buffers, shared by resizing on read and by augmentation.
//
// Coordinates are pixel centres: pixel (x, y) covers [x, x+1) x [y, y+1) and its centre is
// (x + 0.5, y + 0.5). A warp is given as the inverse map, destination centre -> source centre:
//   sx = a * dx + b * dy + tx,   sy = c * dx + d * dy + ty
// (in centre coordinates minus 0.5, i.e. integer values at pixel centres). Source samples outside
// the image read as 0, the black background of an MRI slice.

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
    public static func warpBilinear(_ src: [UInt8], width sw: Int, height sh: Int, channels: Int,
                                    into dst: inout [UInt8], width dw: Int, height dh: Int, map m: AffineMap) {
        precondition(src.count == sw * sh * channels && dst.count == dw * dh * channels)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { o in
                var tap = [Float](repeating: 0, count: channels)
                for dy in 0..<dh {
                    var fx = m.b * Float(dy) + m.tx
                    var fy = m.d * Float(dy) + m.ty
                    for dx in 0..<dw {
                        let base = (dy * dw + dx) * channels
                        defer { fx += m.a; fy += m.c }
                        if fx <= -1 || fy <= -1 || fx >= Float(sw) || fy >= Float(sh) {
                            for k in 0..<channels { o[base + k] = 0 }
                            continue
                        }
                        let x0f = fx.rounded(.down), y0f = fy.rounded(.down)
                        let wx = fx - x0f, wy = fy - y0f
                        let x0 = Int(x0f), y0 = Int(y0f)
                        let w00 = (1 - wx) * (1 - wy), w10 = wx * (1 - wy), w01 = (1 - wx) * wy, w11 = wx * wy
                        if x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh {
                            let p = (y0 * sw + x0) * channels, q = p + sw * channels
                            for k in 0..<channels {
                                let v = w00 * Float(s[p + k]) + w10 * Float(s[p + channels + k])
                                    + w01 * Float(s[q + k]) + w11 * Float(s[q + channels + k])
                                o[base + k] = UInt8(v + 0.5)
                            }
                        } else {
                            for k in 0..<channels { tap[k] = 0 }
                            for (ox, oy, w) in [(0, 0, w00), (1, 0, w10), (0, 1, w01), (1, 1, w11)] {
                                let x = x0 + ox, y = y0 + oy
                                guard x >= 0, y >= 0, x < sw, y < sh else { continue }
                                let p = (y * sw + x) * channels
                                for k in 0..<channels { tap[k] += w * Float(s[p + k]) }
                            }
                            for k in 0..<channels { o[base + k] = UInt8(min(255, tap[k] + 0.5)) }
                        }
                    }
                }
            }
        }
    }

    /// Nearest-neighbour warp of an HWC buffer (masks: keeps values exactly).
    public static func warpNearest(_ src: [UInt8], width sw: Int, height sh: Int, channels: Int,
                                   into dst: inout [UInt8], width dw: Int, height dh: Int, map m: AffineMap) {
        precondition(src.count == sw * sh * channels && dst.count == dw * dh * channels)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { o in
                for dy in 0..<dh {
                    var fx = m.b * Float(dy) + m.tx
                    var fy = m.d * Float(dy) + m.ty
                    for dx in 0..<dw {
                        let x = Int((fx + 0.5).rounded(.down)), y = Int((fy + 0.5).rounded(.down))
                        let base = (dy * dw + dx) * channels
                        if x >= 0 && y >= 0 && x < sw && y < sh {
                            let p = (y * sw + x) * channels
                            for k in 0..<channels { o[base + k] = s[p + k] }
                        } else {
                            for k in 0..<channels { o[base + k] = 0 }
                        }
                        fx += m.a
                        fy += m.c
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
