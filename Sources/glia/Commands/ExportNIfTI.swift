// glia export nifti: patients as NIfTI-1 volumes (image channels, ground truth, prediction) for
// ITK-SNAP and 3D Slicer; the layout and geometry are described in GliaTraining/NIfTIExport.swift.
import ArgumentParser
import Foundation
import GliaData
import GliaTraining

struct ExportNIfTI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nifti",
        abstract: "Write patients as NIfTI volumes (.nii.gz): image channels, ground truth and predicted mask.",
        discussion: """
            Per patient, OUT/<patient>/<patient>_{t1,flair,t1ce,seg,pred}.nii.gz (BraTS-style names; t1, flair \
            and t1ce are the slices' pre-contrast, FLAIR and post-contrast channels). The prediction is the two-stage \
            pipeline's (the shipped models unless --classifier / --segmenter name others; --no-prediction skips it). \
            The TIFFs carry no geometry: voxels are --pixel-spacing x --pixel-spacing x --slice-spacing mm (default \
            1 x 1 x 1), radiological axial orientation, centred on the origin. The folder reads back as a dataset.
            """)

    @Option(help: "Dataset (kaggle_3m folder, seed CSV or NIfTI folder).") var data: String
    @Option(help: "Folder to write into (created).") var out: String
    @Option(help: "Patient id to export (repeatable; default: every patient).") var patient: [String] = []
    @Option(help: "Image channel to write: t1, flair, t1ce or all.") var channel = "all"
    @Option(help: "In-plane voxel size, mm.") var pixelSpacing = 1.0
    @Option(help: "Slice spacing, mm.") var sliceSpacing = 1.0
    @Option(help: ModelChoice.help("Classifier")) var classifier: String?
    @Option(help: ModelChoice.help("Segmenter")) var segmenter: String?
    @Flag(help: "Write no predicted mask (no model is loaded).") var noPrediction = false
    @OptionGroup var workspace: WorkspaceOptions

    func validate() throws {
        guard channel == "all" || NIfTIExportOptions.channelNames.contains(channel) else {
            throw ValidationError("--channel must be all, \(NIfTIExportOptions.channelNames.joined(separator: ", ")); got '\(channel)'")
        }
        for (name, value) in [("--pixel-spacing", pixelSpacing), ("--slice-spacing", sliceSpacing)] where !(value > 0 && value.isFinite) {
            throw ValidationError("\(name) must be a positive number of mm, got \(value)")
        }
        if !noPrediction { try ModelChoice.validate(classifier: classifier, segmenter: segmenter) }
    }

    func run() throws {
        do {
            let index = try DatasetIndex.load(URL(fileURLWithPath: data))
            let unknown = patient.filter { index.patient($0) == nil }
            guard unknown.isEmpty else { throw CommandError("\(data): no patient \(unknown.joined(separator: ", "))") }
            let chosen = patient.isEmpty ? index.patients : patient.compactMap(index.patient)
            var pipeline: TwoStagePipeline?
            if !noPrediction {
                let store = RunStore(workspace: try workspace.open())
                let models = ModelChoice.resolve(classifier: classifier, segmenter: segmenter)
                pipeline = try TwoStagePipeline(
                    classifier: try models.classifier.map { try TrainedModel.load($0, store: store) },
                    segmenter: try models.segmenter.map { try TrainedModel.load($0, store: store) })
            }
            let channels = channel == "all" ? [0, 1, 2] : [NIfTIExportOptions.channelNames.firstIndex(of: channel)!]
            let options = NIfTIExportOptions(pixelSpacing: pixelSpacing, sliceSpacing: sliceSpacing, channels: channels)
            let folder = URL(fileURLWithPath: out)
            for p in chosen {
                let files = try NIfTIExport.write(p, to: folder, pipeline: pipeline, options: options)
                print("\(p.id): \(files.count) volumes, \(p.slices.filter(\.isUsable).count) slices -> \(folder.appendingPathComponent(p.id).path)")
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError("\(error)")
        }
    }
}
