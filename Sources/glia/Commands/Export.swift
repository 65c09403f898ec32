// glia export model: a trained model as a small, self-contained safetensors file (no optimizer
// state), e.g. to ship it in Models/ or hand it to a colleague. glia export nifti: ExportNIfTI.swift.
import ArgumentParser
import Foundation
import GliaTraining

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export trained models.",
        subcommands: [ExportModel.self, ExportNIfTI.self])
}

struct ExportModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Write a run's best model (or a checkpoint's) without optimizer state.",
        discussion: """
            The file keeps the model configuration, the run configuration (input size) and a classifier's \
            stored thresholds, so 'glia eval', 'glia predict' and the workstation load it like a run.
            """)

    @Argument(help: "Run id (or unique prefix) or .safetensors checkpoint.") var model: String
    @Option(help: "File to write (.safetensors).") var out: String
    @Option(help: "Segmenter: store the test-time augmentation chosen on validation (none or flip).")
    var tta: TestTimeAugmentation?
    @Option(help: "Segmenter: store the volume post-processing chosen on validation (none or largest-component).")
    var postprocess: VolumePostprocessing?
    @OptionGroup var workspace: WorkspaceOptions

    func validate() throws {
        guard out.hasSuffix(".safetensors") else { throw ValidationError("--out must name a .safetensors file, got '\(out)'") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: out)
        var isFolder: ObjCBool = false
        let parent = url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw CommandError("--out \(out): no folder \(parent.path)")
        }
        do {
            let source = try ModelExport.write(model, store: RunStore(workspace: try workspace.openForReading()), to: url,
                                               testTimeAugmentation: tta, postprocessing: postprocess)
            print("wrote \(url.path) from \(source.path)")
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError("\(error)")
        }
    }
}
