// NIfTI volumes against nibabel (Debian's python3-nibabel): Glia's files read there with the same
// voxels, shape, datatype and affine; nibabel's files read in Glia alike, also as a BraTS-style
// dataset; volumes nibabel stored in other orientations (axes flipped and permuted, sform or qform)
// turn to the canonical one and give the same slices; malformed files and affines give one-line
// errors naming the file.
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
        // The identity affine is RAS: turned to Glia's LPS, voxel (i, j) of slice k is column 31 - i,
        // row 23 - j, so the label block at i 8..<16, j 4..<10 spans columns 16..<24, rows 14..<20.
        XCTAssertEqual(mask.pixels.enumerated().filter { $0.element != 0 }.map { $0.offset },
                       (14..<20).flatMap { y in (16..<24).map { y * 32 + $0 } })
        let image = try TIFFImage.readImage(slice.imageURL, side: nil).value
        // Channels are t1, flair, t1ce (t2 unused); each scaled by its volume's 99.5th percentile.
        let flairAtOrigin = image.pixels[1], t1ceAtOrigin = image.pixels[2]
        XCTAssertGreaterThan(t1ceAtOrigin, flairAtOrigin, "t1ce holds larger values than flair at the same voxel")
        XCTAssertEqual(try DatasetIndex.load(root).usableSlices.map(\.imageURL), index.usableSlices.map(\.imageURL),
                       "the second load reads the cached slices")
    }

    /// Writes `lps.nii.gz` (int16 voxels numbered in file order, an LPS affine with 0.9 x 0.9 x 3 mm
    /// voxels) and the same volume stored as RAS, PSR (axes permuted) and ILA (qform only) into `folder`.
    private static let orientations = """
        import os, sys, nibabel as nib, numpy as np
        from nibabel.orientations import axcodes2ornt, ornt_transform
        out = sys.argv[1]
        data = np.arange(7 * 5 * 4, dtype=np.int16).reshape((7, 5, 4), order="F")
        affine = np.array([[-0.9, 0, 0, 30], [0, -0.9, 0, 20], [0, 0, 3, -10], [0, 0, 0, 1]])
        canonical = nib.Nifti1Image(data, affine)
        nib.save(canonical, os.path.join(out, "lps.nii.gz"))
        for codes in ("RAS", "PSR", "ILA"):
            img = canonical.as_reoriented(ornt_transform(axcodes2ornt("LPS"), axcodes2ornt(codes)))
            assert "".join(nib.aff2axcodes(img.affine)) == codes
            if codes == "ILA":
                img.set_qform(img.affine, code=1)
                img.set_sform(img.affine, code=0)
            nib.save(img, os.path.join(out, codes.lower() + ".nii.gz"))
        """

    func testVolumesStoredInOtherOrientationsReadAsTheCanonicalOne() throws {
        _ = try nibabel(Self.orientations, [folder.path])
        let canonical = try NIfTIVolume.read(folder.appendingPathComponent("lps.nii.gz"))
        XCTAssertEqual(canonical.orientation, .glia)
        XCTAssertEqual(canonical.reoriented(), canonical, "Glia's orientation is left as it is")
        for codes in ["RAS", "PSR", "ILA"] {
            let stored = try NIfTIVolume.read(folder.appendingPathComponent("\(codes.lowercased()).nii.gz"))
            XCTAssertEqual(stored.orientation?.description, codes)
            XCTAssertEqual(stored.affineSource, codes == "ILA" ? .qform : .sform)
            XCTAssertNotEqual(stored.voxels, canonical.voxels, "\(codes) is stored in another order")
            let turned = stored.reoriented()
            XCTAssertEqual(turned.dimensions, [7, 5, 4], codes)
            XCTAssertEqual(turned.voxels, canonical.voxels, "\(codes) turned to LPS has the canonical voxels")
            XCTAssertEqual(turned.orientation, .glia)
            for (a, b) in zip(turned.affine, canonical.affine) { XCTAssertEqual(a, b, accuracy: 1e-4, "affine of \(codes)") }
            for (a, b) in zip(turned.spacing, [0.9, 0.9, 3]) { XCTAssertEqual(a, b, accuracy: 1e-5, "spacing of \(codes)") }
        }
        let plain = NIfTIVolume(dimensions: [2, 2, 1], spacing: [1, 1, 1], dataType: .uint8, voxels: [1, 2, 3, 4])
        XCTAssertNil(plain.orientation, "no sform or qform: no orientation")
        XCTAssertEqual(plain.reoriented(), plain, "a volume without orientation stays in file order")
    }

    func testBraTSFolderInTwoOrientationsGivesTheSameSlices() throws {
        let root = folder.appendingPathComponent("brats")
        let script = """
            import os, sys, nibabel as nib, numpy as np
            from nibabel.orientations import axcodes2ornt, ornt_transform
            root = sys.argv[1]
            shape = (24, 20, 6)
            affine = np.array([[-1.0, 0, 0, 10], [0, -1.0, 0, 12], [0, 0, 2.5, -6], [0, 0, 0, 1]])
            seg = np.zeros(shape, np.uint8)
            seg[3:9, 2:5, 1:4] = 1  # off-centre, so every flip and permutation moves it
            volumes = {m: np.fromfunction(lambda i, j, k: (i + 3 * j + 7 * k + 50 * n) % 97 + 1.0, shape).astype(np.float32)
                       for n, m in enumerate(["t1", "flair", "t1ce"])}
            volumes["seg"] = seg
            stored = {"P_lps": dict.fromkeys(volumes, "LPS"),
                      "P_mixed": {"t1": "PSR", "flair": "RAS", "t1ce": "ILA", "seg": "SPL"}}
            for pid, codes in stored.items():
                os.makedirs(os.path.join(root, pid))
                for m, v in volumes.items():
                    img = nib.Nifti1Image(v, affine).as_reoriented(ornt_transform(axcodes2ornt("LPS"), axcodes2ornt(codes[m])))
                    nib.save(img, os.path.join(root, pid, f"{pid}_{m}.nii.gz"))
            """
        _ = try nibabel(script, [root.path])
        setenv("GLIA_CACHE", folder.appendingPathComponent("cache").path, 1)
        defer { unsetenv("GLIA_CACHE") }
        let index = try DatasetIndex.load(root)
        XCTAssertTrue(index.problems.filter { $0.severity == .error }.isEmpty, "\(index.problems)")
        let a = try XCTUnwrap(index.patient("P_lps")), b = try XCTUnwrap(index.patient("P_mixed"))
        XCTAssertEqual(a.slices.map(\.sliceNumber), Array(1...6))
        XCTAssertEqual(b.slices.map(\.sliceNumber), Array(1...6), "the mixed patient's volumes are cut along S too")
        var tumorPixels = 0
        for (x, y) in zip(a.slices, b.slices) {
            let (imageA, imageB) = (try TIFFImage.readImage(x.imageURL, side: nil).value, try TIFFImage.readImage(y.imageURL, side: nil).value)
            XCTAssertEqual([imageA.width, imageA.height], [24, 20])
            XCTAssertEqual(imageA.pixels, imageB.pixels, "slice \(x.sliceNumber): the same image")
            let maskA = try TIFFImage.readMask(try XCTUnwrap(x.maskURL), side: nil).value
            XCTAssertEqual(maskA.pixels, try TIFFImage.readMask(try XCTUnwrap(y.maskURL), side: nil).value.pixels,
                           "slice \(x.sliceNumber): the same mask")
            tumorPixels += maskA.pixels.filter { $0 != 0 }.count
        }
        XCTAssertEqual(tumorPixels, 6 * 3 * 3)
        let first = try TIFFImage.readMask(try XCTUnwrap(a.slices[1].maskURL), side: nil).value
        XCTAssertEqual(first.pixels.enumerated().filter { $0.element != 0 }.map { $0.offset },
                       (2..<5).flatMap { y in (3..<9).map { y * 24 + $0 } }, "LPS volumes are cut in file order")
    }

    func testMalformedAffinesGiveOneLineErrors() throws {
        let good = folder.appendingPathComponent("good.nii")
        let lps: [Double] = [-1, 0, 0, 1.5, 0, -1, 0, 1.5, 0, 0, 2, -1, 0, 0, 0, 1]
        try NIfTIVolume(dimensions: [4, 4, 2], spacing: [1, 1, 2], affine: lps, dataType: .uint8,
                        voxels: Array(repeating: 7, count: 32)).write(to: good)
        let bytes = [UInt8](try Data(contentsOf: good))
        func variant(_ name: String, _ edit: (inout [UInt8]) -> Void) throws -> URL {
            var b = bytes
            edit(&b)
            let url = folder.appendingPathComponent(name)
            try Data(b).write(to: url)
            return url
        }
        func putFloat(_ b: inout [UInt8], _ offset: Int, _ v: Float) {
            withUnsafeBytes(of: v.bitPattern.littleEndian) { b.replaceSubrange(offset..<offset + 4, with: $0) }
        }
        // NIfTI-1: sform_code int16 @254, srow_x/y/z float[4] @280/296/312.
        let cases: [(URL, String)] = [
            (try variant("nan-sform.nii") { putFloat(&$0, 284, .nan) }, "sform (srow_x/y/z) holds a NaN or infinity"),
            (try variant("flat-sform.nii") { b in for o in stride(from: 296, to: 312, by: 4) { putFloat(&b, o, 0) } },
             "sform (srow_x/y/z) is not invertible"),
            (try variant("parallel-sform.nii") { putFloat(&$0, 296, -1); putFloat(&$0, 300, 0); putFloat(&$0, 280, -1); putFloat(&$0, 284, 0) },
             "is not invertible"),
            (try variant("infinite-sform.nii") { putFloat(&$0, 324, .infinity) }, "holds a NaN or infinity"),
        ]
        // A qform cannot be refused so: nifti_clib reads a non-finite quaternion field as 0, and a qform is
        // a rotation with positive voxel sizes. A file whose sform is cleared falls back to its qform.
        let qformOnly = try variant("qform-only.nii") { b in b.replaceSubrange(254..<256, with: [0, 0]) }
        XCTAssertEqual(try NIfTIVolume.read(qformOnly).affineSource, .qform)
        XCTAssertEqual(try NIfTIVolume.read(qformOnly).orientation, .glia)
        XCTAssertEqual(try NIfTIVolume.read(good).orientation, .glia)
        for (url, expected) in cases {
            XCTAssertThrowsError(try NIfTIVolume.read(url), url.lastPathComponent) { error in
                let message = "\(error)"
                XCTAssertFalse(message.contains("\n"), message)
                XCTAssertTrue(message.hasPrefix(url.path + ": "), message)
                XCTAssertTrue(message.contains(expected), "\(url.lastPathComponent): \(message)")
            }
        }
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
