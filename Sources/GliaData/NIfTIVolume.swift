// NIfTIVolume: 3-D volumes read and written with nifti_clib (Debian's libnifti2), .nii or .nii.gz.
//
// Written files are NIfTI-1 single files: the datatype asked for (uint8 for slices and masks), pixdim
// and xyz units mm, and the same voxel-to-world affine as both sform and qform (code 1, scanner
// anatomical), so ITK-SNAP, 3D Slicer and nibabel place them alike. Reading accepts NIfTI-1 and -2,
// any of the common datatypes (scl_slope / scl_inter applied), 3-D or 4-D with one volume; the affine
// is the sform, else the qform, and one that is not finite or not invertible is refused (a volume
// with neither has the spacing on the diagonal and no stated orientation). Voxels come in file order;
// NIfTIOrientation turns them to the orientation Glia's slices use.
//
// nifti_clib reports nothing but a NULL on a bad file (its messages are silenced: they would garble
// the workstation's screen), so the header is first checked here from its raw bytes, read through
// znzlib (which also reads gzip), and every refusal is one line naming the file and the field.
import CNIfTI
import Foundation

/// A 3-D volume: voxel (i, j, k) at `voxels[(k * ny + j) * nx + i]` (NIfTI's order, i fastest).
public struct NIfTIVolume: Sendable, Equatable {
    /// The voxel types Glia writes and reads.
    public enum DataType: Int32, Sendable, CaseIterable {
        case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, int8 = 256, uint16 = 512, uint32 = 768
        /// Bytes per voxel.
        public var size: Int {
            switch self {
            case .uint8, .int8: 1
            case .int16, .uint16: 2
            case .int32, .uint32, .float32: 4
            case .float64: 8
            }
        }
    }

    /// nx, ny, nz.
    public var dimensions: [Int]
    /// Voxel size along i, j, k in mm (pixdim 1-3).
    public var spacing: [Double]
    /// Voxel (i, j, k, 1) to world (x, y, z, 1) in mm, row-major 4x4 (last row 0 0 0 1).
    public var affine: [Double]
    /// Which header field `affine` came from.
    public var affineSource: AffineSource
    /// The voxel type on disk.
    public var dataType: DataType
    /// Voxel values (scaled by scl_slope / scl_inter when the file sets them).
    public var voxels: [Float]

    /// Where a volume's affine came from.
    public enum AffineSource: Sendable, Equatable {
        /// The sform (srow_x/y/z), which takes precedence when its code is set.
        case sform
        /// The qform (quaternion, offsets and pixdim), when only it is set.
        case qform
        /// Neither is set: the spacing on the diagonal, with no stated orientation.
        case spacingOnly
    }

    /// A volume; `affine` defaults to the spacing on the diagonal. An explicit affine is written as
    /// both sform and qform, so it counts as the sform.
    public init(dimensions: [Int], spacing: [Double], affine: [Double]? = nil, dataType: DataType, voxels: [Float],
                affineSource: AffineSource? = nil) {
        precondition(dimensions.count == 3 && voxels.count == dimensions.reduce(1, *), "volume \(dimensions) has \(voxels.count) voxels")
        self.dimensions = dimensions
        self.spacing = spacing
        self.affine = affine ?? [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1]
        self.affineSource = affineSource ?? (affine == nil ? .spacingOnly : .sform)
        self.dataType = dataType
        self.voxels = voxels
    }

    /// Largest voxel count read (2^28: 1 GiB as float), so a forged header cannot exhaust memory.
    public static let maxVoxels = 1 << 28

    /// Reads a .nii / .nii.gz file.
    public static func read(_ url: URL) throws -> NIfTIVolume {
        let header = try NIfTIHeaderCheck.check(url)
        nifti_set_debug_level(0)
        guard let nim = nifti_image_read(url.path, 1) else {
            throw NIfTIError(url, "voxel data unreadable or shorter than the header's \(header.dimensions.map(String.init).joined(separator: "x")) \(header.dataType) voxels")
        }
        defer { nifti_image_free(nim) }
        let image = nim.pointee
        guard let data = image.data, let type = DataType(rawValue: image.datatype) else {
            throw NIfTIError(url, "no voxel data read")
        }
        let count = header.dimensions.reduce(1, *)
        var voxels = [Float](repeating: 0, count: count)
        func convert<T>(_: T.Type, _ value: (T) -> Float) {
            let typed = data.bindMemory(to: T.self, capacity: count)
            for n in 0..<count { voxels[n] = value(typed[n]) }
        }
        switch type {
        case .uint8: convert(UInt8.self) { Float($0) }
        case .int8: convert(Int8.self) { Float($0) }
        case .int16: convert(Int16.self) { Float($0) }
        case .uint16: convert(UInt16.self) { Float($0) }
        case .int32: convert(Int32.self) { Float($0) }
        case .uint32: convert(UInt32.self) { Float($0) }
        case .float32: convert(Float.self) { $0 }
        case .float64: convert(Double.self) { Float($0) }
        }
        let slope = image.scl_slope, intercept = image.scl_inter
        if slope.isFinite, slope != 0, slope != 1 || intercept != 0 {
            for n in voxels.indices { voxels[n] = Float(Double(voxels[n]) * slope + (intercept.isFinite ? intercept : 0)) }
        }
        let spacing = [image.dx, image.dy, image.dz].map { $0 > 0 && $0.isFinite ? $0 : 1 }
        var affine = [Double](repeating: 0, count: 16)
        let source: AffineSource
        switch glia_nifti_get_affine(nim, &affine) {
        case 2: source = .sform
        case 1: source = .qform
        default: source = .spacingOnly
        }
        if source != .spacingOnly { try NIfTIOrientation.check(affine: affine, from: source, of: url) }
        return NIfTIVolume(dimensions: header.dimensions, spacing: spacing, affine: affine, dataType: type, voxels: voxels,
                           affineSource: source)
    }

    /// Writes the volume as NIfTI-1 (gzip-compressed when the name ends in .gz), atomically; values
    /// are rounded and clamped to integer datatypes.
    public func write(to url: URL) throws {
        let name = url.lastPathComponent.lowercased()
        guard name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") else {
            throw NIfTIError(url, "a NIfTI file name ends in .nii or .nii.gz")
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(UUID().uuidString)" + (name.hasSuffix(".gz") ? ".nii.gz" : ".nii"))
        var dims: [Int64] = [3] + dimensions.map(Int64.init) + [1, 1, 1, 1]
        guard let nim = nifti_make_new_nim(&dims, dataType.rawValue, 0) else { throw NIfTIError(url, "cannot make a NIfTI image") }
        var bytes = encodedVoxels()
        defer {
            nim.pointee.data = nil  // the bytes are Swift's; nifti_image_free must not free them
            nifti_image_free(nim)
        }
        nim.pointee.nifti_type = 1  // NIFTI_FTYPE_NIFTI1_1: one .nii file
        (nim.pointee.dx, nim.pointee.dy, nim.pointee.dz) = (spacing[0], spacing[1], spacing[2])
        (nim.pointee.pixdim.1, nim.pointee.pixdim.2, nim.pointee.pixdim.3) = (spacing[0], spacing[1], spacing[2])
        nim.pointee.xyz_units = 2  // NIFTI_UNITS_MM
        glia_nifti_set_affine(nim, affine)
        guard nifti_set_filenames(nim, temporary.path, 0, 1) == 0 else { throw NIfTIError(url, "cannot name the file") }
        try bytes.withUnsafeMutableBytes { raw in
            nim.pointee.data = raw.baseAddress
            nifti_set_debug_level(0)
            nifti_image_write(nim)
            // nifti_image_write reports no status: read the header back to know the file is whole.
            do { _ = try NIfTIHeaderCheck.check(temporary) } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw NIfTIError(url, "could not be written (\(error))")
            }
        }
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: temporary, to: url)
    }

    /// The voxels in the file's datatype, little-endian (the host's order, which nifti_clib records).
    private func encodedVoxels() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: voxels.count * dataType.size)
        out.withUnsafeMutableBytes { raw in
            func store<T>(_: T.Type, _ value: (Float) -> T) {
                let typed = raw.bindMemory(to: T.self)
                for n in voxels.indices { typed[n] = value(voxels[n]) }
            }
            func clamped<T: FixedWidthInteger>(_ v: Float) -> T {
                let r = v.isFinite ? v.rounded() : 0
                return r <= Float(T.min) ? T.min : r >= Float(T.max) ? T.max : T(r)
            }
            switch dataType {
            case .uint8: store(UInt8.self, clamped)
            case .int8: store(Int8.self, clamped)
            case .int16: store(Int16.self, clamped)
            case .uint16: store(UInt16.self, clamped)
            case .int32: store(Int32.self, clamped)
            case .uint32: store(UInt32.self, clamped)
            case .float32: store(Float.self) { $0 }
            case .float64: store(Double.self) { Double($0) }
            }
        }
        return out
    }
}

/// A NIfTI file that cannot be read or written; one line naming the file.
public struct NIfTIError: Error, CustomStringConvertible, LocalizedError {
    public let url: URL
    public let message: String
    public init(_ url: URL, _ message: String) {
        self.url = url
        self.message = message
    }
    public var description: String { "\(url.path): \(message)" }
    public var errorDescription: String? { description }
}
