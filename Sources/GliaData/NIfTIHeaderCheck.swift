// The checks a NIfTI header passes before nifti_clib reads it, on its raw bytes (read through znzlib,
// so .nii.gz is decompressed as it is read). Layouts (offsets in bytes):
//   NIfTI-1 (sizeof_hdr 348): dim int16[8] @40, datatype int16 @70, bitpix int16 @72,
//                             vox_offset float @108, magic "n+1\0" @344
//   NIfTI-2 (sizeof_hdr 540): magic "n+2\0\r\n\u{1A}\n" @4, datatype int16 @12, bitpix int16 @14,
//                             dim int64[8] @16, vox_offset int64 @168
// Either may be stored big-endian (sizeof_hdr then reads byte-swapped).
import CNIfTI
import Foundation

/// What the header says, once it passed.
struct NIfTIHeaderSummary {
    var dimensions: [Int]
    var dataType: NIfTIVolume.DataType
}

enum NIfTIHeaderCheck {
    /// The header's dimensions and datatype, or an error naming the first field that is wrong.
    static func check(_ url: URL) throws -> NIfTIHeaderSummary {
        guard FileManager.default.fileExists(atPath: url.path) else { throw NIfTIError(url, "no such file") }
        let bytes = try headerBytes(url)
        guard bytes.count >= 348 else {
            throw NIfTIError(url, "\(bytes.count) bytes: shorter than a NIfTI header (348)")
        }
        let raw = bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
        let swapped: Bool
        switch raw {
        case 348, 540: swapped = false
        case Int32(348).byteSwapped, Int32(540).byteSwapped: swapped = true
        default: throw NIfTIError(url, "sizeof_hdr is \(raw), not 348 (NIfTI-1) or 540 (NIfTI-2): not a NIfTI file")
        }
        func int<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            let v = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
            return swapped ? v.byteSwapped : v
        }
        let two = (swapped ? raw.byteSwapped : raw) == 540
        guard !two || bytes.count >= 540 else { throw NIfTIError(url, "\(bytes.count) bytes: shorter than a NIfTI-2 header (540)") }
        let magic = two ? Array(bytes[4..<7]) : Array(bytes[344..<347])
        guard magic == Array((two ? "n+2" : "n+1").utf8) else {
            let shown = String(decoding: magic, as: UTF8.self).unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }.joined()
            throw NIfTIError(url, "magic is '\(shown)', not '\(two ? "n+2" : "n+1")' (a single-file NIfTI; .hdr/.img pairs are not read)")
        }
        let dim: [Int] = (0..<8).map { two ? Int(truncatingIfNeeded: int(16 + 8 * $0, Int64.self)) : Int(int(40 + 2 * $0, Int16.self)) }
        let code = Int32(int(two ? 12 : 70, Int16.self))
        let bitpix = Int(int(two ? 14 : 72, Int16.self))
        guard (1...7).contains(dim[0]) else { throw NIfTIError(url, "dim[0] = \(dim[0]): the number of dimensions must be 1 to 7") }
        let used = Array(dim[1...dim[0]])
        guard used.allSatisfy({ $0 >= 1 }) else { throw NIfTIError(url, "dimensions \(used) must all be positive") }
        guard used.count <= 3 || used[3...].allSatisfy({ $0 == 1 }) else {
            throw NIfTIError(url, "dimensions \(used): \(used[3...].reduce(1, *)) volumes; Glia reads one 3-D volume")
        }
        let xyz = (0..<3).map { $0 < used.count ? used[$0] : 1 }
        guard xyz.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) <= NIfTIVolume.maxVoxels else {
            throw NIfTIError(url, "dimensions \(xyz) exceed \(NIfTIVolume.maxVoxels) voxels")
        }
        guard let type = NIfTIVolume.DataType(rawValue: code) else {
            throw NIfTIError(url, "datatype \(code) is not one Glia reads (uint8, int8, int16, uint16, int32, uint32, float32, float64)")
        }
        guard bitpix == type.size * 8 else { throw NIfTIError(url, "bitpix \(bitpix) does not match datatype \(type) (\(type.size * 8))") }
        let offset = two ? Double(int(168, Int64.self)) : Double(Float(bitPattern: int(108, UInt32.self)))
        guard offset.isFinite, offset >= Double(two ? 544 : 352) else {
            throw NIfTIError(url, "vox_offset \(offset) lies inside the header")
        }
        return NIfTIHeaderSummary(dimensions: xyz, dataType: type)
    }

    /// Up to 540 bytes from the start of the (possibly gzip-compressed) file.
    private static func headerBytes(_ url: URL) throws -> [UInt8] {
        var file: znzFile? = znzopen(url.path, "rb", 1)
        guard file != nil else { throw NIfTIError(url, "cannot open the file") }
        defer { Xznzclose(&file) }
        var bytes = [UInt8](repeating: 0, count: 540)
        let count = bytes.withUnsafeMutableBytes { znzread($0.baseAddress, 1, 540, file) }
        return Array(bytes.prefix(count))
    }
}
