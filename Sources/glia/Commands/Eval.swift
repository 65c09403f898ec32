// glia eval: classifier metrics, segmenter per-volume Dice and IoU, and the two-stage pipeline.
import ArgumentParser
import Foundation
import GliaData
import GliaTraining

struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a classifier, a segmenter, or both as the two-stage pipeline.",
        discussion: """
            Models are run ids (or unique prefixes) from 'glia runs', or .safetensors files. By default the \
            test patients of the run's own split are used; --part picks another part, --data another dataset \
            (then all of its slices). With neither model named, the shipped models are used: then --data is \
            needed and --part picks patients of Models/split.json (--part all: every slice).
            """)

    @Option(help: ModelChoice.help("Classifier")) var classifier: String?
    @Option(help: ModelChoice.help("Segmenter")) var segmenter: String?
    @Option(help: "Dataset to evaluate on (default: the run's dataset).") var data: String?
    @Option(help: "Patients to use: test, validation, train or all.") var part: EvalPart = .test
    @Option(name: .customLong("batch-size"), help: "Images per batch.") var batchSize = 16
    @Flag(help: "Print JSON instead of tables.") var json = false
    @OptionGroup var workspace: WorkspaceOptions

    enum EvalPart: String, ExpressibleByArgument, CaseIterable { case test, validation, train, all }

    func validate() throws {
        try ModelChoice.validate(classifier: classifier, segmenter: segmenter)
        if let d = data { try InputPath.requireExists(d, option: "--data") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() async throws {
        let store = RunStore(workspace: try workspace.open())
        do {
            let models = ModelChoice.resolve(classifier: classifier, segmenter: segmenter)
            let pipeline = try TwoStagePipeline(
                classifier: try models.classifier.map { try TrainedModel.load($0, store: store) },
                segmenter: try models.segmenter.map { try TrainedModel.load($0, store: store) })
            let (loader, partName) = try makeLoader(store: store, models: models)
            let isTerminal = isatty(STDERR_FILENO) == 1
            let report = try Evaluator.evaluate(pipeline, loader: loader, part: partName) { done, total in
                if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2Kevaluating: batch \(done)/\(total)".utf8)) }
            }
            if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            print(json ? try Self.json(report) : Self.table(report))
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError("\(error)")
        }
    }

    /// The slices to evaluate: the run's split part of its dataset, or all of --data.
    private func makeLoader(store: RunStore, models: ModelChoice) throws -> (Loader, String) {
        let runReference = [models.classifier, models.segmenter].compactMap { $0 }.first { !$0.hasSuffix(".safetensors") }
        let run = try runReference.map { try store.run(matching: $0) }
        let runConfiguration = try run?.decodedConfiguration()
        guard let dataPath = data ?? runConfiguration?.dataPath else {
            throw CommandError("no dataset: give --data (checkpoint files do not say which data they were trained on)")
        }
        let index = try DatasetIndex.load(URL(fileURLWithPath: dataPath))
        let config = LoaderConfiguration.evaluation(batchSize: batchSize)
        if part == .all || (models.shipped == nil && data != nil && data != runConfiguration?.dataPath) {
            return (Loader(index: index, configuration: config), "all")
        }
        if let shipped = models.shipped {
            guard let url = shipped.split else {
                throw CommandError("--part \(part.rawValue) needs \(ShippedModels.splitFile) beside the shipped models in \(shipped.folder?.path ?? "?"); use --part all")
            }
            let wanted: DatasetSplit.Part = part == .train ? .train : part == .validation ? .validation : .test
            let loader = Loader(index: index, split: try DatasetSplit.read(from: url), part: wanted, configuration: config)
            // The shipped split names patients of the full set; a sample may hold none of this part.
            if loader.batchCount == 0 { throw CommandError("\(dataPath): none of the \(part.rawValue) patients of \(url.path); use --part all") }
            return (loader, part.rawValue)
        }
        guard let run else { throw CommandError("--part \(part.rawValue) needs a run's split; use --part all with checkpoint files") }
        let splitURL = store.folder(for: run.id).appendingPathComponent("split.json")
        let split = try DatasetSplit.read(from: splitURL)
        let wanted: DatasetSplit.Part = part == .train ? .train : part == .validation ? .validation : .test
        if split.patients(wanted).isEmpty {
            throw CommandError("run \(run.id) has no \(part.rawValue) patients (its split is \(splitURL.path)); try --part validation")
        }
        return (Loader(index: index, split: split, part: wanted, configuration: config), part.rawValue)
    }

    static func json(_ report: EvaluationReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    static func table(_ r: EvaluationReport) -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        var out = ["\(r.part): \(r.patients) patients, \(r.slices) slices", ""]
        if let c = r.classifier {
            out.append(TextTable(header: ["CLASSIFIER", "VALUE"], rows: [
                ["accuracy", f(c.accuracy)], ["precision", f(c.precision)], ["recall", f(c.recall)],
                ["F1", f(c.f1)], ["ROC-AUC", c.rocAUC.map(f) ?? "n/a (one class)"],
            ]).rendered)
            let m = c.confusion
            out.append("")
            out.append(TextTable(header: ["CONFUSION", "PREDICTED TUMOR", "PREDICTED NONE"], rows: [
                ["tumor", String(m.truePositives), String(m.falseNegatives)],
                ["no tumor", String(m.falsePositives), String(m.trueNegatives)],
            ]).rendered)
            out.append("")
        }
        let segmentation = [("segmenter, every slice", r.segmenter), ("two-stage pipeline", r.pipeline)]
            .compactMap { name, s in s.map { [name, String($0.volumes), f($0.meanDice), f($0.medianDice), f($0.pooledIoU)] } }
        if !segmentation.isEmpty {
            out.append(TextTable(header: ["SEGMENTATION", "VOLUMES", "DICE MEAN", "DICE MEDIAN", "IOU"],
                                 rows: segmentation).rendered)
            out.append("(per-volume Dice: each patient's slices stacked; IoU pooled over all pixels)")
        }
        return out.joined(separator: "\n")
    }
}
