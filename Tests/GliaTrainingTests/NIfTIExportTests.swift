// glia export nifti's core: a phantom patient's channels, ground truth and prediction as NIfTI
// volumes that nibabel reads with the documented geometry, and that read back as a Glia dataset
// with the very same slices.
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import GliaTraining
import XCTest

final class NIfTIExportTests: XCTestCase {
    func testPhantomPatientExportsReadsInNibabelAndRoundTripsAsADataset() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-nifti-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try Phantom.write(to: folder.appendingPathComponent("phantom"),
                              configuration: Phantom.Configuration(patients: 1, slices: 7...7, seed: 3))
        let patient = try XCTUnwrap(try DatasetIndex.load(folder.appendingPathComponent("phantom")).patients.first)
        let segmenterFile = folder.appendingPathComponent("segmenter.safetensors")
        try Checkpoint.saveModel(try ResUNet(configuration: ResUNetConfiguration(filters: [4, 8]), seed: 1), to: segmenterFile)
        let pipeline = try TwoStagePipeline(classifier: nil, segmenter: try TrainedModel.load(segmenterFile.path, store: nil))
        let options = NIfTIExportOptions(pixelSpacing: 0.8, sliceSpacing: 2.5)
        let out = folder.appendingPathComponent("nifti")
        let files = try NIfTIExport.write(patient, to: out, pipeline: pipeline, options: options)
        XCTAssertEqual(files.map(\.lastPathComponent), ["t1", "flair", "t1ce", "seg", "pred"].map { "\(patient.id)_\($0).nii.gz" })

        let probe = try? GliaProcess.run(program: URL(fileURLWithPath: "/usr/bin/python3"), ["-c", "import nibabel"])
        if probe?.status == 0 {
            let script = """
                import json, sys, nibabel as nib, numpy as np
                img = nib.load(sys.argv[1])
                v = np.asanyarray(img.dataobj)
                print(json.dumps({"shape": list(img.shape), "affine": img.affine.flatten().tolist(),
                    "zooms": [float(z) for z in img.header.get_zooms()], "values": sorted(set(v.flatten().tolist()))[:3],
                    "slice1row5": v[:, 5, 0].tolist()}))
                """
            for file in files {
                let result = try GliaProcess.run(program: URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script, file.path])
                XCTAssertEqual(result.status, 0, result.errors)
                let view = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
                XCTAssertEqual(view["shape"] as? [Int], [256, 256, 7], file.lastPathComponent)
                // NIfTI-1 stores the sform rows as float32.
                XCTAssertEqual((view["affine"] as? [Double])?.map { Float($0) },
                               NIfTIExport.affine(size: [256, 256, 7], options: options).map { Float($0) }, file.lastPathComponent)
                XCTAssertEqual((view["zooms"] as? [Double])?.map { Float($0) }, [0.8, 0.8, 2.5])
                if file.lastPathComponent.hasSuffix("_flair.nii.gz") {
                    // Voxel (i, 5, 0) is column i of row 5 of the first slice, FLAIR channel.
                    let image = try TIFFImage.readImage(patient.slices[0].imageURL).value
                    XCTAssertEqual(view["slice1row5"] as? [Int], (0..<256).map { Int(image.pixels[(5 * 256 + $0) * 3 + 1]) })
                }
                if file.lastPathComponent.hasSuffix("_pred.nii.gz") || file.lastPathComponent.hasSuffix("_seg.nii.gz") {
                    XCTAssertTrue(Set(view["values"] as? [Int] ?? [9]).isSubset(of: [0, 1]), file.lastPathComponent)
                }
            }
        } else {
            print("NIfTIExportTests: nibabel missing, volumes not checked there (scripts/install-deps.sh installs python3-nibabel)")
        }

        setenv("GLIA_CACHE", folder.appendingPathComponent("cache").path, 1)
        defer { unsetenv("GLIA_CACHE") }
        let back = try DatasetIndex.load(out)
        let roundTrip = try XCTUnwrap(back.patient(patient.id))
        XCTAssertEqual(roundTrip.slices.count, 7)
        for (a, b) in zip(patient.slices, roundTrip.slices) {
            XCTAssertEqual(try TIFFImage.readImage(a.imageURL).value, try TIFFImage.readImage(b.imageURL).value, "slice \(a.sliceNumber)")
            XCTAssertEqual(try TIFFImage.readMask(a.maskURL!).value, try TIFFImage.readMask(b.maskURL!).value, "mask \(a.sliceNumber)")
        }
    }
}
