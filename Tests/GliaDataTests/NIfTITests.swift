// NIfTI volumes against nibabel (Debian's python3-nibabel): Glia's files read there with the same
// voxels, shape, datatype and affine; nibabel's files read in Glia alike, also as a BraTS-style
// dataset; malformed files give one-line errors naming the file.
import Foundation
import GliaData
import GliaTestSupport
import XCTest

final class NIfTITests: XCTestCase {
    private var folder: URL!
    private static let python = URL(fileURLWithPath: "/usr/bin/python3")

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-nifti-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs a nibabel script with `arguments` (sys.argv[1...]); skips when nibabel is missing.
    private func nibabel(_ script: String, _ arguments: [String]) throws -> String {
        let probe = try? GliaProcess.run(program: Self.python, ["-c", "import nibabel"])
        guard probe?.status == 0 else {
            let reason = "\(Self.python.path) cannot import nibabel: run scripts/install-deps.sh (python3-nibabel)"
            print("NIfTITests skipped: \(reason)")
            throw XCTSkip(reason)
        }
        let result = try GliaProcess.run(program: Self.python, ["-c", script] + arguments)
        XCTAssertEqual(result.status, 0, result.errors)
        return result.output
    }

    private struct NibabelView: Decodable {
        var shape: [Int]
        var dtype: String
        var affine: [Double]
        var zooms: [Double]
        var qform: Int
        var sform: Int
        var voxels: [Double]
    }

    private static let describe = """
        import json, sys, nibabel as nib, numpy as np
        img = nib.load(sys.argv[1])
        print(json.dumps({"shape": list(img.shape), "dtype": str(img.get_data_dtype()),
            "affine": img.affine.flatten().tolist(), "zooms": [float(z) for z in img.header.get_zooms()],
            "qform": int(img.header["qform_code"]), "sform": int(img.header["sform_code"]),
            "voxels": np.asanyarray(img.dataobj).flatten(order="F").astype(float).tolist()}))
        """

    func testGliaVolumesReadInNibabelWithTheSameVoxelsShapeAndAffine() throws {
        let affine: [Double] = [-0.9, 0.1, 0, 12.5, 0.05, -0.9, 0, 30, 0, 0, 3, -20, 0, 0, 0, 1]
        for (type, name) in [(NIfTIVolume.DataType.uint8, "uint8"), (.int16, "int16"), (.float32, "float32")] {
            let offset: Float = type == .int16 ? -100 : 0
            let voxels: [Float] = (0..<60).map { (n: Int) -> Float in
                type == .float32 ? Float(n) * 0.25 - 3 : Float(n * 7 % 251) + offset
            }
            let volume = NIfTIVolume(dimensions: [5, 4, 3], spacing: [0.9, 0.9, 3], affine: affine, dataType: type, voxels: voxels)
            for suffix in [".nii", ".nii.gz"] {
                let url = folder.appendingPathComponent("v-\(name)\(suffix)")
                try volume.write(to: url)
                let view = try JSONDecoder().decode(NibabelView.self, from: Data(try nibabel(Self.describe, [url.path]).utf8))
                XCTAssertEqual(view.shape, [5, 4, 3], url.lastPathComponent)
                XCTAssertEqual(view.dtype, name)
                XCTAssertEqual(view.voxels, voxels.map(Double.init), url.lastPathComponent)
                XCTAssertEqual(view.zooms, [0.9, 0.9, 3].map { Double(Float($0)) }, url.lastPathComponent)
                XCTAssertEqual([view.qform, view.sform], [1, 1])
                for (a, b) in zip(view.affine, affine) { XCTAssertEqual(a, b, accuracy: 1e-5, "affine of \(url.lastPathComponent)") }
                XCTAssertEqual(try NIfTIVolume.read(url).voxels, voxels, "Glia reads its own file back")
            }
        }
    }

    func testNibabelVolumesReadInGlia() throws {
        let url = folder.appendingPathComponent("nib.nii.gz")
        let script = """
            import sys, nibabel as nib, numpy as np
            data = (np.arange(6 * 5 * 4).reshape((6, 5, 4), order="F") * 3 - 50).astype(np.int16)
            affine = np.array([[0, -1.5, 0, 40], [1.2, 0, 0, -10], [0, 0, 2.5, 5], [0, 0, 0, 1]])
            img = nib.Nifti1Image(data, affine)
            img.header.set_slope_inter(0.5, 10)
            nib.save(img, sys.argv[1])
            """
        _ = try nibabel(script, [url.path])
        let volume = try NIfTIVolume.read(url)
        XCTAssertEqual(volume.dimensions, [6, 5, 4])
        XCTAssertEqual(volume.dataType, .int16)
        XCTAssertEqual(volume.voxels, (0..<120).map { Float($0 * 3 - 50) * 0.5 + 10 }, "scl_slope / scl_inter applied")
        let expected: [Double] = [0, -1.5, 0, 40, 1.2, 0, 0, -10, 0, 0, 2.5, 5, 0, 0, 0, 1]
        for (a, b) in zip(volume.affine, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(volume.spacing.map { Float($0) }, [1.2, 1.5, 2.5])
    }

    func testBraTSFolderWrittenByNibabelIsADataset() throws {
        let root = folder.appendingPathComponent("brats")
        let script = """
            import os, sys, nibabel as nib, numpy as np
            root = sys.argv[1]
            for n, pid in enumerate(["BraTS_001", "BraTS_002"]):
                os.makedirs(os.path.join(root, pid))
                shape = (32, 24, 5)
                for m, modality in enumerate(["t1", "flair", "t1ce", "t2"]):
                    v = np.fromfunction(lambda i, j, k: (i + 2 * j + 5 * k + 40 * m + n) * 10.0, shape).astype(np.float32)
                    nib.save(nib.Nifti1Image(v, np.eye(4)), os.path.join(root, pid, f"{pid}_{modality}.nii.gz"))
                seg = np.zeros(shape, np.uint8)
                seg[8:16, 4:10, 2] = 2  # a BraTS label: any nonzero is tumor
                nib.save(nib.Nifti1Image(seg, np.eye(4)), os.path.join(root, pid, f"{pid}_seg.nii.gz"))
            """
        _ = try nibabel(script, [root.path])
        setenv("GLIA_CACHE", folder.appendingPathComponent("cache").path, 1)
        defer { unsetenv("GLIA_CACHE") }
        let index = try DatasetIndex.load(root)
        XCTAssertEqual(index.patients.map(\.id), ["BraTS_001", "BraTS_002"])
        XCTAssertEqual(index.usableSlices.count, 10)
        XCTAssertTrue(index.problems.filter { $0.severity == .error }.isEmpty, "\(index.problems)")
        let slice = try XCTUnwrap(index.patient("BraTS_001")?.slices.first { $0.sliceNumber == 3 })
        let mask = try TIFFImage.readMask(try XCTUnwrap(slice.maskURL), side: nil).value
        XCTAssertEqual(mask.width, 32)
        XCTAssertEqual(mask.height, 24)
        // Voxel (i, j) of slice k is column i, row j: the label block spans columns 8..<16, rows 4..<10.
        XCTAssertEqual(mask.pixels.enumerated().filter { $0.element != 0 }.map { $0.offset },
                       (4..<10).flatMap { y in (8..<16).map { y * 32 + $0 } })
        let image = try TIFFImage.readImage(slice.imageURL, side: nil).value
        // Channels are t1, flair, t1ce (t2 unused); each scaled by its volume's 99.5th percentile.
        let flairAtOrigin = image.pixels[1], t1ceAtOrigin = image.pixels[2]
        XCTAssertGreaterThan(t1ceAtOrigin, flairAtOrigin, "t1ce holds larger values than flair at the same voxel")
        XCTAssertEqual(try DatasetIndex.load(root).usableSlices.map(\.imageURL), index.usableSlices.map(\.imageURL),
                       "the second load reads the cached slices")
    }

    func testMalformedFilesGiveOneLineErrors() throws {
        let good = folder.appendingPathComponent("good.nii")
        try NIfTIVolume(dimensions: [4, 4, 2], spacing: [1, 1, 1], dataType: .int16, voxels: Array(repeating: 7, count: 32)).write(to: good)
        let bytes = [UInt8](try Data(contentsOf: good))
        func variant(_ name: String, _ edit: (inout [UInt8]) -> Void) throws -> URL {
            var b = bytes
            edit(&b)
            let url = folder.appendingPathComponent(name)
            try Data(b).write(to: url)
            return url
        }
        func put16(_ b: inout [UInt8], _ offset: Int, _ v: Int16) { withUnsafeBytes(of: v.littleEndian) { b.replaceSubrange(offset..<offset + 2, with: $0) } }
        let cases: [(URL, String)] = [
            (try variant("empty.nii") { $0 = [] }, "shorter than a NIfTI header"),
            (try variant("text.nii") { $0 = Array(String(repeating: "not a volume ", count: 40).utf8) }, "not a NIfTI file"),
            (try variant("magic.nii") { $0.replaceSubrange(344..<348, with: Array("abc\0".utf8)) }, "magic is 'abc"),
            (try variant("datatype.nii") { put16(&$0, 70, 1536) }, "datatype 1536"),
            (try variant("bitpix.nii") { put16(&$0, 72, 8) }, "bitpix 8"),
            (try variant("ndim.nii") { put16(&$0, 40, 9) }, "dim[0] = 9"),
            (try variant("negative.nii") { put16(&$0, 44, -4) }, "must all be positive"),
            (try variant("volumes.nii") { put16(&$0, 40, 4); put16(&$0, 48, 3) }, "3 volumes"),
            (try variant("huge.nii") { put16(&$0, 42, 32000); put16(&$0, 44, 32000); put16(&$0, 46, 32000) }, "exceed"),
            (try variant("truncated.nii") { $0.removeLast(20) }, "voxel data unreadable or shorter"),
        ]
        for (url, expected) in cases {
            XCTAssertThrowsError(try NIfTIVolume.read(url), url.lastPathComponent) { error in
                let message = "\(error)"
                XCTAssertFalse(message.contains("\n"), message)
                XCTAssertTrue(message.hasPrefix(url.path + ": "), message)
                XCTAssertTrue(message.contains(expected), "\(url.lastPathComponent): \(message)")
            }
        }
        XCTAssertThrowsError(try NIfTIVolume.read(folder.appendingPathComponent("absent.nii.gz"))) {
            XCTAssertTrue("\($0)".hasSuffix("absent.nii.gz: no such file"), "\($0)")
        }
    }
}
