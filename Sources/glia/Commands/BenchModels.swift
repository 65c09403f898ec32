// glia bench models: train-step and inference images/s and batch-1 latency of the ResUNet and the
// ResNet classifiers, next to PyTorch's figures (shared/notes/peers.md) and a cblas_sgemm baseline
// measured in the same run (the machine is shared, so absolute numbers drift with its load).
//
// Train step = zeroGradients + forward(.training) + loss + backward + Adam step. Inference =
// forward(.inference). Each figure is the median of `--reps` timed runs after `--warmup` untimed ones.
import ArgumentParser
import Foundation
import GliaCore

struct BenchModels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Train and inference images/s of the ResUNet and ResNet classifiers against PyTorch.",
        discussion: """
            Models: resunet, resnet18 and resnet50 (each with the seed's head) and frozen50 (the frozen \
            ResNet-50 feature pass, inference only). Peer figures are PyTorch 2.15 on a quiet 2-vCPU \
            machine of the same kind (shared/notes/peers.md); ratio = Glia speed / PyTorch speed.
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
              + "\(BLAS.threadCount) BLAS threads")
        print("The machine may be shared: figures are medians and drift with its load; compare within this run.")
        if batch != 16 || size != 256 {
            print("Note: PyTorch's figures are for batch 16 at 256x256; the ratios below compare unlike runs.")
        }
        // The GEMM rate is measured before the first model and after each one; a row's share of the
        // quiet machine is the mean of the rates measured on either side of it.
        var gemm = [GEMMBaseline.measure()]
        print(String(format: "GEMM baseline (cblas_sgemm %d^2): %.1f GFLOP/s   [peers.md, quiet: 165-171]",
                     GEMMBaseline.size, gemm[0]))
        print("")
        var rows: [ModelBench.Result] = []
        var shares: [Double] = []
        for name in modelList {
            guard let kind = ModelKind(rawValue: name) else { continue }
            let bench = ModelBench(kind: kind, batch: batch, size: size, reps: reps, warmup: warmup,
                                   latencyReps: latencyReps, train: !noTrain)
            rows.append(try bench.run())
            gemm.append(GEMMBaseline.measure())
            shares.append((gemm[gemm.count - 2] + gemm[gemm.count - 1]) / 2 / GEMMBaseline.quietRate)
            print(String(format: "  measured %@ (peak RSS %.2f GiB); GEMM now %.1f GFLOP/s", kind.title,
                         peakResidentGiB(), gemm[gemm.count - 1]))
        }
        print("")
        print(ModelBench.table(rows, machineShares: shares))
        print("\nGEMM baseline around the rows (GFLOP/s): " + gemm.map { String(format: "%.1f", $0) }.joined(separator: ", ")
              + String(format: "; quiet machine (peers.md): %.0f.", GEMMBaseline.quietRate))
        print("norm = ratio / (the row's GEMM rate / the quiet rate): a rough estimate of the ratio on a quiet machine.")
        print("GFLOP/s = inference img/s x forward GFLOP/img (peers.md, scaled by (size/256)^2).")
    }
}

/// The models this benchmark knows, with PyTorch's figures from shared/notes/peers.md.
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

    /// PyTorch 2.15, 2 threads, batch 16, 256^2: (GFLOP/img, train img/s, inference img/s, batch-1 ms).
    var peer: (gflop: Double, train: Double?, inference: Double, latencyMS: Double?) {
        switch self {
        case .resunet: return (3.72, 3.38, 19.5, 49)
        case .resnet18: return (4.74, 6.89, 26.1, 50)
        case .resnet50: return (10.68, 2.70, 11.4, 119)
        case .frozen50: return (10.68, nil, 11.6, nil)
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

/// Plain single-precision GEMM rate through the BLAS door, the in-run ceiling for convolutions.
enum GEMMBaseline {
    static let size = 2048
    /// cblas_sgemm at 2048^2-4096^2 on 2 threads, quiet machine (peers.md: 165-171 GFLOP/s).
    static let quietRate = 168.0

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
                            BLAS.gemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                                      c: pc.baseAddress!, ldc: n)
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
        /// Forward GFLOP per image at this size (peers.md's 256^2 figure scaled by area).
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
                      latencyMS: latency, gflopPerImage: kind.peer.gflop * scale)
    }

    /// The results next to PyTorch's figures; ratio = Glia speed / PyTorch speed (> 1: Glia faster);
    /// norm = ratio / machineShares[row] (the GEMM rate around that row relative to the quiet machine's).
    static func table(_ rows: [Result], machineShares: [Double]) -> String {
        func cell(_ v: Double?, _ format: String = "%.2f") -> String { v.map { String(format: format, $0) } ?? "-" }
        func ratio(_ glia: Double?, _ peer: Double?, inverse: Bool = false, share: Double = 1) -> String {
            guard let g = glia, let p = peer, g > 0, p > 0 else { return "-" }
            return String(format: "%.2fx", (inverse ? p / g : g / p) / share)
        }
        let header = ["model", "train img/s", "PyTorch", "ratio", "norm", "infer img/s", "PyTorch", "ratio", "norm",
                      "batch-1 ms", "PyTorch", "ratio", "infer GFLOP/s"]
        var lines = [header]
        for (r, machineShare) in zip(rows, machineShares) {
            let peer = r.kind.peer
            lines.append([r.kind.title,
                          cell(r.trainImagesPerSecond), cell(peer.train), ratio(r.trainImagesPerSecond, peer.train),
                          ratio(r.trainImagesPerSecond, peer.train, share: machineShare),
                          cell(r.inferenceImagesPerSecond), cell(peer.inference),
                          ratio(r.inferenceImagesPerSecond, peer.inference),
                          ratio(r.inferenceImagesPerSecond, peer.inference, share: machineShare),
                          cell(r.latencyMS, "%.1f"), cell(peer.latencyMS, "%.0f"),
                          ratio(r.latencyMS, peer.latencyMS, inverse: true),
                          cell(r.inferenceImagesPerSecond * r.gflopPerImage, "%.1f")])
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
