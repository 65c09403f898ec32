// glia eval: the classifier's slice-level metrics, the segmenter's per-volume Dice (with a per-patient
// table and bar chart), and the two-stage pipeline.
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
    @Option(help: "Predicted volumes before scoring: none, or largest-component (3-D, 6-connected). Default: the segmenter's stored choice, else none.")
    var postprocess: VolumePostprocessing?
    @Option(help: "Test-time augmentation of the segmenter: none, or flip (mean with the left-right flip). Default: the segmenter's stored choice, else none.")
    var tta: TestTimeAugmentation?
    @Flag(help: "Print JSON instead of tables.") var json = false
    @OptionGroup var workspace: WorkspaceOptions

    enum EvalPart: String, ExpressibleByArgument, CaseIterable { case test, validation, train, all }

    func validate() throws {
        try ModelChoice.validate(classifier: classifier, segmenter: segmenter)
        if let d = data { try InputPath.requireExists(d, option: "--data") }
        guard (1...RunConfiguration.maximumBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1...\(RunConfiguration.maximumBatchSize), got \(batchSize)")
        }
    }

    func run() async throws {
        let models = ModelChoice.resolve(classifier: classifier, segmenter: segmenter)
        let store = try models.store(workspace)
        do {
            var pipeline = try TwoStagePipeline(
                classifier: try models.classifier.map { try TrainedModel.load($0, store: store) },
                segmenter: try models.segmenter.map { try TrainedModel.load($0, store: store) })
            if let tta { pipeline.flipTestTimeAugmentation = tta == .flip }
            let (loader, partName) = try makeLoader(store: store, models: models)
            for problem in loader.skipped {
                FileHandle.standardError.write(Data("warning: skipped slice \(problem.path): \(problem.detail)\n".utf8))
            }
            let isTerminal = isatty(STDERR_FILENO) == 1
            let report = try Evaluator.evaluate(pipeline, loader: loader, part: partName,
                                                postprocessing: postprocess ?? pipeline.postprocessing) { done, total in
                if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2Kevaluating: batch \(done)/\(total)".utf8)) }
            }
            if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            let unicode = Self.localeIsUTF8(ProcessInfo.processInfo.environment)
            print(json ? try Self.json(report) : Self.table(report, unicode: unicode))
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError("\(error)")
        }
    }

    /// The slices to evaluate: the run's split part of its dataset, or all of --data.
    private func makeLoader(store: RunStore?, models: ModelChoice) throws -> (Loader, String) {
        let runReference = [models.classifier, models.segmenter].compactMap { $0 }.first { !TrainedModel.isCheckpointFile($0) }
        let run = try store.flatMap { store in try runReference.map { try store.run(matching: $0) } }
        let runConfiguration = try run?.decodedConfiguration()
        guard let dataPath = data ?? runConfiguration?.dataPath else {
            throw CommandError("no dataset: give --data (checkpoint files do not say which data they were trained on)")
        }
        let index = try DatasetIndex.load(URL(fileURLWithPath: dataPath))
        let config = LoaderConfiguration.evaluation(batchSize: batchSize)
        if part == .all || (models.shipped == nil && data != nil && data != runConfiguration?.dataPath) {
            let loader = Loader(index: index, configuration: config)
            guard !loader.records.isEmpty else { throw CommandError("no usable slices to evaluate in \(dataPath)") }
            return (loader, "all")
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
        guard let run, let store else { throw CommandError("--part \(part.rawValue) needs a run's split; use --part all with checkpoint files") }
        let splitURL = store.folder(for: run.id).appendingPathComponent("split.json")
        let split = try DatasetSplit.read(from: splitURL)
        let wanted: DatasetSplit.Part = part == .train ? .train : part == .validation ? .validation : .test
        if split.patients(wanted).isEmpty {
            throw CommandError("run \(run.id) has no \(part.rawValue) patients (its split is \(splitURL.path)); try --part validation")
        }
        let loader = Loader(index: index, split: split, part: wanted, configuration: config)
        guard !loader.records.isEmpty else {
            throw CommandError("no usable slices of run \(run.id)'s \(part.rawValue) patients in \(dataPath)")
        }
        return (loader, part.rawValue)
    }

    static func json(_ report: EvaluationReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    /// Whether the locale (LC_ALL, else LC_CTYPE, else LANG, as POSIX orders them) is UTF-8; an unset
    /// locale is "C", which is ASCII.
    static func localeIsUTF8(_ environment: [String: String]) -> Bool {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? "C"
        let lowered = locale.lowercased()
        return lowered.contains("utf-8") || lowered.contains("utf8")
    }

    static func table(_ r: EvaluationReport, unicode: Bool) -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        func t(_ x: Float) -> String { String(format: "%.2f", x) }
        var out = ["\(r.part): \(r.patients) patients, \(r.slices) slices; post-processing \(r.postprocessing.rawValue), "
                   + "test-time augmentation \(r.flipTestTimeAugmentation ? "flip" : "none")", ""]
        if let c = r.classifier {
            out.append(TextTable(header: ["CLASSIFIER (SLICES)", "VALUE"], rows: [
                ["accuracy", f(c.accuracy)], ["sensitivity", f(c.sensitivity)], ["specificity", f(c.specificity)],
                ["precision", f(c.precision)], ["F1", f(c.f1)], ["ROC-AUC", c.rocAUC.map(f) ?? "n/a (one class)"],
            ]).rendered)
            out.append("(a slice is called tumor when P(tumor) >= \(t(c.threshold)))")
            let m = c.confusion
            out.append("")
            out.append(TextTable(header: ["CONFUSION", "PREDICTED TUMOR", "PREDICTED NONE"], rows: [
                ["tumor", String(m.truePositives), String(m.falseNegatives)],
                ["no tumor", String(m.falsePositives), String(m.trueNegatives)],
            ]).rendered)
            out.append("")
        }
        let reports = [("segmenter, every slice", r.segmenter),
                       ("two-stage pipeline", r.pipeline)].compactMap { name, s in s.map { (name, $0) } }
        guard !reports.isEmpty else { return out.joined(separator: "\n") }
        out.append(TextTable(header: ["SEGMENTATION", "SEGMENTED SLICES", "VOLUMES", "DICE MEAN", "DICE MEDIAN", "IOU"],
                             rows: reports.map { name, s in
            [name, String(s.segmentedSlices), String(s.volumes), s.meanDice.map(f) ?? "n/a", s.medianDice.map(f) ?? "n/a",
             f(s.pooledIoU)]
        }).rendered)
        if let gate = r.pipeline?.gateThreshold {
            out.append("(the pipeline segments a slice when P(tumor) >= \(t(gate)))")
        }
        out.append("(per-volume Dice: each patient's slices stacked; mean and median over patients with tumor; "
                   + "IoU pooled over all pixels)")
        for (name, s) in reports {
            out.append("")
            out.append(patientTable(name, s, unicode: unicode))
        }
        return out.joined(separator: "\n")
    }

    /// One row per patient, best Dice first, with the Dice drawn as a bar.
    static func patientTable(_ name: String, _ s: SegmentationReport, unicode: Bool) -> String {
        let rows = s.patients.map { p in
            [p.patient, String(p.slices), String(p.tumorSlices), p.dice.map { String(format: "%.4f", $0) } ?? "no tumor",
             String(p.truthVoxels), String(p.predictedVoxels), p.dice.map { bar($0, width: 20, unicode: unicode) } ?? ""]
        }
        let header = ["PATIENT", "SLICES", "TUMOR SLICES", "DICE", "TRUTH VOXELS", "PREDICTED VOXELS", "DICE 0..1"]
        return "\(name.uppercased()), PER PATIENT\n" + TextTable(header: header, rows: rows).rendered
    }

    /// `fraction` (0...1) of `width` cells filled: Unicode eighth blocks on a light-shade track, or
    /// '#' on a '.' track in ASCII. The track shows the scale even for a Dice of 0.
    static func bar(_ fraction: Double, width: Int, unicode: Bool) -> String {
        let clamped = min(max(fraction, 0), 1)
        guard unicode else {
            let filled = Int((clamped * Double(width)).rounded())
            return String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        }
        let eighths = Int((clamped * Double(width * 8)).rounded())
        let partial = ["", "\u{258F}", "\u{258E}", "\u{258D}", "\u{258C}", "\u{258B}", "\u{258A}", "\u{2589}"][eighths % 8]
        let used = eighths / 8 + (partial.isEmpty ? 0 : 1)
        return String(repeating: "\u{2588}", count: eighths / 8) + partial + String(repeating: "\u{2591}", count: width - used)
    }
}

extension VolumePostprocessing: ExpressibleByArgument {}
extension TestTimeAugmentation: ExpressibleByArgument {}
