// glia train: run a recipe headless, with a live progress line on a terminal and log lines elsewhere.
import ArgumentParser
import Dispatch
import Foundation
import GliaCore
import GliaData
import GliaTraining

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the classifier or the segmenter.",
        discussion: """
            Runs are kept in the workspace (see 'glia runs'). Ctrl-C stops after the current step and saves \
            the run's 'last' checkpoint; 'glia train --resume RUN' continues it exactly. Without --data, \
            the built-in phantom dataset is used.
            """)

    @Argument(help: "What to train: classifier or segmenter (omit with --resume).")
    var recipe: RecipeKind?

    @Option(help: "Dataset: a kaggle_3m folder or the seed's CSV. Default: the phantom dataset.")
    var data: String?

    @Option(help: "Continue the run with this id (or unique id prefix) from its last checkpoint.")
    var resume: String?

    @Option(help: "Epochs to train (classifier 10, segmenter 40).") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Images per step (16).") var batchSize: Int?
    @Option(name: .customLong("lr"), help: "Initial learning rate (0.001, Adam).") var learningRate: Float?
    @Option(name: .customLong("weight-decay"), help: "L2 weight decay (0).") var weightDecay: Float?
    @Option(help: "Seed of every random stream of the run (1).") var seed: UInt64?
    @Option(help: "Epochs without validation improvement before stopping early (classifier 3; segmenter: off, = epochs).") var patience: Int?
    @Option(name: .customLong("image-size"), help: "Side the model sees, a divisor of 256 (segmenter 128, classifier 256).") var imageSize: Int?
    @Option(name: .customLong("tumor-fraction"), help: "Fraction of each batch drawn from tumor slices, 0 = natural (segmenter 0.5, classifier 0).")
    var tumorFraction: Double?
    @Flag(name: .customLong("no-augment"), help: "Train without augmentation.") var noAugment = false
    @Option(help: "Segmenter loss: dice-bce (default), dice or focal-tversky.") var loss: SegmentationLossKind?
    @Option(help: "Learning-rate schedule: cosine (to 1% of --lr at the last step; segmenter default) or plateau (x0.1 after 2 epochs without improvement; classifier default).")
    var schedule: LearningRateScheduleKind?
    @Option(help: ArgumentHelp("Classifier: a trained segmenter (run or .safetensors file).",
        discussion: "With it the classifier defaults to the 'segmenter' backbone (a gate on the segmenter's masks), trains on the segmenter's split (its split.json) and chooses the pipeline's gate threshold on the validation patients."))
    var segmenter: String?
    @Option(name: .customLong("neighbour-reach"), help: "Classifier gate: slices on either side whose masks it reads, 0 = the slice alone (2).")
    var neighbourReach: Int?
    @Option(name: .customLong("weight-average"), help: "Segmenter: decay of a moving average of the weights for validation and the checkpoints, e.g. 0.998; 0 = off (0).")
    var weightAverage: Double?
    @Option(help: "Train on the patient split in this split.json instead of making one.") var split: String?
    @Option(help: "Classifier backbone: resnet18 (default), resnet34, resnet50, resnet10.") var backbone: String?
    @Flag(name: .customLong("freeze-backbone"), help: "Classifier: train the head only, caching backbone features.")
    var freezeBackbone = false
    @Option(help: "Classifier: torchvision-named backbone weights (.safetensors).") var weights: String?
    @Option(name: .customLong("max-steps"), help: "Stop each epoch after this many steps (quick runs).")
    var maxSteps: Int?

    @OptionGroup var workspace: WorkspaceOptions

    func validate() throws {
        if resume == nil && recipe == nil { throw ValidationError("say what to train: 'classifier' or 'segmenter'") }
        if resume != nil && recipe != nil { throw ValidationError("--resume continues a run as it was configured; drop '\(recipe!.rawValue)'") }
        if let w = weights { try InputPath.requireFile(w, option: "--weights") }
        if let d = data { try InputPath.requireExists(d, option: "--data") }
        if let s = split { try InputPath.requireFile(s, option: "--split") }
        if segmenter != nil && recipe == .segmenter { throw ValidationError("--segmenter is a classifier option") }
        if weightAverage != nil && recipe == .classifier { throw ValidationError("--weight-average is a segmenter option") }
        if let r = neighbourReach, !(0...MaskGateConfiguration.maximumNeighbourReach).contains(r) {
            throw ValidationError("--neighbour-reach must be in 0...\(MaskGateConfiguration.maximumNeighbourReach), got \(r)")
        }
    }

    func run() async throws {
        let store = RunStore(workspace: try workspace.open())
        let run: TrainingRun
        do {
            if let resume {
                run = try TrainingRun.resume(resume, store: store)
            } else {
                run = try TrainingRun.start(try makeConfiguration(store: store), store: store)
            }
        } catch {
            throw CommandError("\(error)")
        }
        if let warning = BLAS.kernels.warning { FileHandle.standardError.write(Data("\(warning)\n".utf8)) }
        let stopper = InterruptHandler { run.actor.stop() }
        let reporter = Task {
            var reporter = TrainingReporter(configuration: run.actor.configuration)
            await reporter.follow(run.actor)
        }
        let status = await run.actor.run()
        await reporter.value
        await run.recording.value
        stopper.cancel()
        if status == .failed { throw ExitCode.failure }
    }

    private func makeConfiguration(store: RunStore) throws -> RunConfiguration {
        var c = RunConfiguration.defaults(for: recipe!, dataPath: data.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "")
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSize = batchSize }
        if let learningRate { c.learningRate = learningRate }
        if let weightDecay { c.weightDecay = weightDecay }
        if let seed { c.seed = seed }
        if let patience { c.patience = patience } else if c.recipe == .segmenter { c.patience = c.epochs }
        if let imageSize { c.imageSize = imageSize }
        if let tumorFraction { c.tumorFraction = tumorFraction }
        if let loss { c.loss = loss }
        if let schedule { c.schedule = schedule }
        if noAugment { c.augment = false }
        if let backbone { c.backbone = backbone }
        if freezeBackbone {
            c.freezeBackbone = true
            c.augment = false  // cached features are of un-augmented slices
        }
        if let weights { c.weightsPath = URL(fileURLWithPath: weights).standardizedFileURL.path }
        if let maxSteps { c.maxStepsPerEpoch = maxSteps }
        if let split { c.splitPath = URL(fileURLWithPath: split).standardizedFileURL.path }
        if let neighbourReach { c.neighbourReach = neighbourReach }
        if let weightAverage { c.weightAverage = weightAverage }
        if let segmenter {
            do {
                try c.gate(on: try TrainedModel.checkpointURL(segmenter, store: store), keepSplit: split != nil,
                           keepBackbone: backbone != nil, requestedImageSize: imageSize, keepLearningRate: learningRate != nil)
            } catch let error as TrainingDataError {
                throw CommandError("--segmenter \(segmenter): \(error.message)")
            }
        }
        do {
            try TrainingRun.check(c)
        } catch let error as TrainingDataError {
            throw CommandError(error.message)
        } catch let error as RunConfigurationError {
            throw ValidationError(Self.optionNames[error.field].map { "\($0) \(error.value): \(error.requirement)" } ?? "\(error)")
        }
        // Written (once, to the cache) only for a configuration that will run.
        if data == nil { c.dataPath = try Phantom.ensureDefaultDataset().path }
        return c
    }

    /// The option that sets each validated configuration field, so that errors name what was typed.
    private static let optionNames = [
        "epochs": "--epochs", "batchSize": "--batch-size", "learningRate": "--lr", "weightDecay": "--weight-decay",
        "patience": "--patience", "tumorFraction": "--tumor-fraction", "imageSize": "--image-size",
        "maxStepsPerEpoch": "--max-steps", "weightAverage": "--weight-average",
    ]
}

extension RecipeKind: ExpressibleByArgument {}
extension SegmentationLossKind: ExpressibleByArgument {}
extension LearningRateScheduleKind: ExpressibleByArgument {}

/// Prints a run's events: a live line on a terminal, log lines otherwise.
struct TrainingReporter {
    var formatter: ProgressFormatter
    let isTerminal = isatty(STDOUT_FILENO) == 1

    init(configuration: RunConfiguration) {
        formatter = ProgressFormatter(recipe: configuration.recipe, epochs: configuration.epochs)
    }

    mutating func follow(_ actor: TrainingActor) async {
        var liveLineShown = false
        for await event in await actor.subscribe() {
            if case .step(let s) = event {
                let line = formatter.progressLine(for: s)
                if isTerminal {
                    write("\r\u{1B}[2K" + line)
                    liveLineShown = true
                } else if s.step == s.stepsPerEpoch || s.step % max(1, s.stepsPerEpoch / 10) == 0 {
                    write(line + "\n")
                }
                continue
            }
            guard let text = formatter.logLine(for: event) else { continue }
            if liveLineShown { write("\r\u{1B}[2K") }
            write(text + "\n")
            liveLineShown = false
        }
    }

    private func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }
}

/// Ctrl-C handling for long commands: the first press asks the work to stop cleanly, the second exits.
final class InterruptHandler {
    private let sources: [DispatchSourceSignal]
    /// SIGINT (Ctrl-C) and SIGTERM, which schedulers and `timeout` send before killing: both stop after
    /// the step and save `last`, so a terminated run loses no more than a Ctrl-C'd one.
    private static let signals: [Int32] = [SIGINT, SIGTERM]

    init(onInterrupt: @escaping @Sendable () -> Void) {
        // One serial queue for both sources: the press count is shared and must not race.
        let queue = DispatchQueue(label: "glia.interrupt")
        let presses = UncheckedBox(0)
        sources = Self.signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                presses.value += 1
                if presses.value == 1 {
                    let how = number == SIGTERM ? "terminated" : "interrupted"
                    FileHandle.standardError.write(Data("\n\(how): stopping after this step and saving 'last' (Ctrl-C again to quit now)\n".utf8))
                    onInterrupt()
                } else {
                    exit(128 + number)
                }
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        for number in Self.signals { signal(number, SIG_DFL) }
    }
}

/// A mutable box touched only from one serial queue (the signal source's handler).
private final class UncheckedBox: @unchecked Sendable {
    var value: Int
    init(_ value: Int) { self.value = value }
}
