// glia bench models: train-step and inference images/s and batch-1 latency of the ResUNet and the
// ResNet classifiers, then PyTorch's on the same models measured right after in the same run
// (BenchPeer.swift), side by side with their ratios, the host's vector ISA and both GEMM rates
// (the machine is shared, so absolute numbers drift with its load).
//
// Train step = zeroGradients + forward(.training) + loss + backward + Adam step. Inference =
// forward(.inference). Each figure is the median of `--reps` timed runs after `--warmup` untimed ones.
import ArgumentParser
import Foundation
import GliaCore
import GliaTraining

struct BenchModels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Train and inference images/s of the ResUNet and ResNet classifiers against PyTorch.",
        discussion: """
            Models: resunet, resnet18 and resnet50 (each with the seed's head) and frozen50 (the frozen \
            ResNet-50 feature pass, inference only). After Glia's figures, PyTorch's are measured in the same \
            run on the same models, batch, threads and memory format (glia-torch's bench, in the venv of \
            scripts/install-torch.sh or $GLIA_TORCH_PYTHON); ratio = Glia speed / PyTorch speed. Without \
            PyTorch, Glia's figures are printed alone with how to install it.
            """)

    @Option(help: "Comma-separated models: resunet, resnet18, resnet50, frozen50.")
    var models = "resunet,resnet18,resnet50,frozen50"
    @Option(help: "Timed repetitions per figure (the median is reported).")
    var reps = 3
    @Option(help: "Untimed warm-up runs before each figure.")
    var warmup = 1
    @Option(help: "Batch size of the train and inference figures.")
    var batch = 16
    @Option(help: "Image height and width.")
    var size = 256
    @Option(help: "Timed batch-1 inference runs for the latency figure.")
    var latencyReps = 5
    @Flag(help: "Skip the train-step figures.")
    var noTrain = false
    @Flag(help: "Glia's figures only (no PyTorch run).")
    var noPeer = false

    func validate() throws {
        guard reps >= 1, warmup >= 0, batch >= 1, latencyReps >= 1 else {
            throw ValidationError("--reps, --batch and --latency-reps must be at least 1, --warmup at least 0")
        }
        guard size >= 128, size % 32 == 0 else {
            throw ValidationError("--size must be a multiple of 32 and at least 128 (the head pools 4x4 features)")
        }
        let unknown = modelList.filter { ModelKind(rawValue: $0) == nil }
        guard unknown.isEmpty else {
            throw ValidationError("unknown model(s) \(unknown.joined(separator: ", ")); choose from "
                                  + ModelKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    private var modelList: [String] {
        models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    func run() async throws {
        print("glia bench models: batch \(batch), \(size)x\(size)x3, median of \(reps) after \(warmup) warm-up "
              + "(latency: median of \(latencyReps)); \(ParallelConfig.workerCount) workers, "
              + "OpenBLAS \(BLAS.threadCount) thread per call, \(BLAS.kernels.description) kernels")
        print("The machine may be shared: figures are medians and drift with its load; compare within this run.")
        if let warning = BLAS.kernels.warning { print(warning) }
        print("Host: \(HostISA.description)")
        let kinds = modelList.compactMap(ModelKind.init(rawValue:))
        var gemm = [GEMMBaseline.measure()]
        print(String(format: "GEMM (cblas_sgemm %d^2): %.1f GFLOP/s", GEMMBaseline.size, gemm[0]))
        print("")
        var rows: [ModelBench.Result] = []
        for kind in kinds {
            let bench = ModelBench(kind: kind, batch: batch, size: size, reps: reps, warmup: warmup,
                                   latencyReps: latencyReps, train: !noTrain)
            rows.append(try bench.run())
            gemm.append(GEMMBaseline.measure())
            print(String(format: "  measured %@ (peak RSS %.2f GiB); GEMM now %.1f GFLOP/s", kind.title,
                         peakResidentGiB(), gemm[gemm.count - 1]))
        }
        var peer: PeerReport?
        if noPeer {
            print("\nPyTorch not run (--no-peer).")
        } else if let reason = TorchEnvironment.unavailableReason() {
            print("\nPyTorch not run: \(reason)")
        } else {
            print("\nPyTorch on the same models, batch, threads (\(ParallelConfig.workerCount)) and memory format (channels-last)...")
            do {
                let report = try PeerReport.measure(models: kinds, batch: batch, size: size, reps: reps, warmup: warmup,
                                                    latencyReps: latencyReps, threads: ParallelConfig.workerCount, train: !noTrain)
                for kind in kinds {
                    if let row = report.row(kind) {
                        print(String(format: "  measured %@ in PyTorch %@ (peak RSS %.2f GiB)", kind.title, report.torch, row.peakRSSGiB))
                    }
                }
                peer = report
            } catch {
                print("PyTorch's figures are missing: \(error)")
            }
        }
        print("")
        print(ModelBench.table(rows, peer: peer))
        print("\nGEMM 2048^2 around the rows (GFLOP/s): cblas_sgemm " + gemm.map { String(format: "%.1f", $0) }.joined(separator: ", ")
              + (peer.map { "; torch.mm " + $0.gemm.map { String(format: "%.1f", $0) }.joined(separator: ", ") } ?? ""))
        print("GFLOP/s = inference img/s x forward GFLOP/img (scaled by (size/256)^2).")
    }
}

/// The models this benchmark knows.
enum ModelKind: String, CaseIterable {
    case resunet, resnet18, resnet50, frozen50

    var title: String {
        switch self {
        case .resunet: return "ResUNet"
        case .resnet18: return "ResNet-18 + head"
        case .resnet50: return "ResNet-50 + head"
        case .frozen50: return "ResNet-50 frozen features"
        }
    }

    /// Forward GFLOP per 256x256 image (multiply-adds x 2, convolutions and dense layers).
    var gflopPerImage: Double {
        switch self {
        case .resunet: return 3.72
        case .resnet18: return 4.74
        case .resnet50, .frozen50: return 10.68
        }
    }
}

/// Peak resident memory of this process so far (VmHWM), in GiB; 0 where /proc is unavailable.
func peakResidentGiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kib / (1024 * 1024)
}

/// Seconds taken by `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

/// The median of non-empty values.
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Plain single-precision GEMM rate through the BLAS door, split over the workers as the models' GEMMs
/// are: the in-run ceiling for convolutions.
enum GEMMBaseline {
    static let size = 2048

    /// Median GFLOP/s of a few square products after one warm-up.
    static func measure(reps: Int = 5) -> Double {
        let n = size
        var rng = RandomGenerator(seed: 1)
        let a = (0..<(n * n)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(n * n)).map { _ in rng.uniform(-1, 1) }
        var c = [Float](repeating: 0, count: n * n)
        let times = (0...reps).map { _ in
            seconds {
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            BLAS.gemmAcrossWorkers(m: n, n: n, k: n, a: pa.baseAddress!, lda: n,
                                                   b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                        }
                    }
                }
            }
        }
        return 2 * Double(n * n * n) / median(Array(times.dropFirst())) * 1e-9
    }
}

/// Builds one model and times its train step, batched inference and batch-1 latency.
struct ModelBench {
    let kind: ModelKind
    let batch: Int, size: Int, reps: Int, warmup: Int, latencyReps: Int
    let train: Bool

    /// Medians for one model; nil where not measured.
    struct Result {
        let kind: ModelKind
        let trainImagesPerSecond: Double?
        let inferenceImagesPerSecond: Double
        let latencyMS: Double
        /// Forward GFLOP per image at this size (the 256^2 figure scaled by area).
        let gflopPerImage: Double
    }

    /// Median seconds of `reps` runs of `body` after `warmup` untimed ones.
    private func time(_ reps: Int, _ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<warmup { try body() }
        return median(try (0..<reps).map { _ in try seconds(body) })
    }

    func run() throws -> Result {
        var rng = RandomGenerator(seed: 7)
        let x = Tensor(shape: [batch, size, size, 3]) { _ in rng.nextUniform() }
        let single = Tensor(shape: [1, size, size, 3], scalars: Array(x.scalars[0..<(size * size * 3)]))
        let adam = try Adam(learningRate: 1e-3)
        var step: (() throws -> Void)?
        let infer: (Tensor) -> Void
        switch kind {
        case .resunet:
            let model = try ResUNet(configuration: .standard, seed: 1)
            // A disc per image, the kind of target the segmenter trains on.
            let r = Float(size) / 6
            let mask = Tensor(shape: [batch, size, size, 1]) { i in
                let (py, px) = ((i / size) % size, i % size)
                let (cy, cx) = (Float(size) / 2, Float(size) / 2)
                return (Float(py) - cy) * (Float(py) - cy) + (Float(px) - cx) * (Float(px) - cx) <= r * r ? 1 : 0
            }
            step = {
                model.zeroGradients()
                let p = model.forward(x, mode: .training)
                model.backward(try FocalTverskyLoss().evaluate(probabilities: p, targets: mask).gradient)
                adam.step(model.parameters)
            }
            infer = { _ = model.forward($0, mode: .inference) }
        case .resnet18, .resnet50, .frozen50:
            let backbone: ResNetConfiguration = kind == .resnet18 ? .resnet18 : .resnet50
            let model = try ClassifierModel(configuration: ClassifierConfiguration(backbone: backbone, imageSize: size),
                                            seed: 1)
            let labels = (0..<batch).map { $0 % 2 }
            if kind == .frozen50 {
                model.freezeBackbone = true
                infer = { _ = model.features($0) }
            } else {
                step = {
                    model.zeroGradients()
                    let z = model.forward(x, mode: .training)
                    model.backward(try SoftmaxCrossEntropy().evaluate(logits: z, labels: labels).gradient)
                    adam.step(model.parameters)
                }
                infer = { _ = model.forward($0, mode: .inference) }
            }
        }
        let trainRate = try step.flatMap { body in train ? Double(batch) / (try time(reps, body)) : nil }
        let inferRate = Double(batch) / time(reps) { infer(x) }
        let latency = time(latencyReps) { infer(single) } * 1000
        let scale = Double(size * size) / Double(256 * 256)
        return Result(kind: kind, trainImagesPerSecond: trainRate, inferenceImagesPerSecond: inferRate,
                      latencyMS: latency, gflopPerImage: kind.gflopPerImage * scale)
    }

    /// Glia's results next to PyTorch's from the same run; ratio = Glia speed / PyTorch speed (> 1:
    /// Glia faster). Without a peer report the PyTorch and ratio columns are left out.
    static func table(_ rows: [Result], peer: PeerReport?) -> String {
        func cell(_ v: Double?, _ format: String = "%.2f") -> String { v.map { String(format: format, $0) } ?? "-" }
        func ratio(_ glia: Double?, _ torch: Double?, inverse: Bool = false) -> String {
            guard let g = glia, let p = torch, g > 0, p > 0 else { return "-" }
            return String(format: "%.2fx", inverse ? p / g : g / p)
        }
        let header = peer == nil
            ? ["model", "train img/s", "infer img/s", "batch-1 ms", "infer GFLOP/s"]
            : ["model", "train img/s", "PyTorch", "ratio", "infer img/s", "PyTorch", "ratio",
               "batch-1 ms", "PyTorch", "ratio", "infer GFLOP/s"]
        var lines = [header]
        for r in rows {
            let gflops = cell(r.inferenceImagesPerSecond * r.gflopPerImage, "%.1f")
            guard let peer else {
                lines.append([r.kind.title, cell(r.trainImagesPerSecond), cell(r.inferenceImagesPerSecond),
                              cell(r.latencyMS, "%.1f"), gflops])
                continue
            }
            let p = peer.row(r.kind)
            lines.append([r.kind.title,
                          cell(r.trainImagesPerSecond), cell(p?.train), ratio(r.trainImagesPerSecond, p?.train),
                          cell(r.inferenceImagesPerSecond), cell(p?.inference), ratio(r.inferenceImagesPerSecond, p?.inference),
                          cell(r.latencyMS, "%.1f"), cell(p?.latencyMS, "%.1f"), ratio(r.latencyMS, p?.latencyMS, inverse: true),
                          gflops])
        }
        let widths = header.indices.map { c in lines.map { $0[c].count }.max() ?? 0 }
        return lines.map { row in
            row.enumerated().map { c, text in
                c == 0 ? text.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - text.count) + text
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
