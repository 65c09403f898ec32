// PyTorch's figures for `glia bench models`, measured in the same run by glia-torch's bench
// (glia-torch/src/glia_torch/bench.py: the same models, head, losses, optimizer, batch, threads and
// channels-last memory format), and the host's vector ISA, which decides how far apart the two are.
import Foundation
import GliaTraining

/// What `python -m glia_torch.bench` prints.
struct PeerReport: Decodable {
    struct Row: Decodable {
        var model: String
        var train: Double?
        var inference: Double
        var latencyMS: Double
        var peakRSSGiB: Double

        enum CodingKeys: String, CodingKey {
            case model, train, inference, latencyMS = "latency_ms", peakRSSGiB = "peak_rss_gib"
        }
    }

    var torch: String
    var threads: Int
    /// torch.mm 2048^2 GFLOP/s before the first model and after each.
    var gemm: [Double]
    var rows: [Row]

    enum CodingKeys: String, CodingKey { case torch, threads, gemm = "gemm_gflops", rows }

    /// The row of `kind`, if measured.
    func row(_ kind: ModelKind) -> Row? { rows.first { $0.model == kind.rawValue } }

    /// Runs the peer bench with Glia's settings; throws a one-line reason when it fails.
    static func measure(models: [ModelKind], batch: Int, size: Int, reps: Int, warmup: Int, latencyReps: Int,
                        threads: Int, train: Bool) throws -> PeerReport {
        let arguments = ["-m", "glia_torch.bench", "--models", models.map(\.rawValue).joined(separator: ","),
                         "--batch", "\(batch)", "--size", "\(size)", "--reps", "\(reps)", "--warmup", "\(warmup)",
                         "--latency-reps", "\(latencyReps)", "--threads", "\(threads)"] + (train ? [] : ["--no-train"])
        let (status, output) = try TorchEnvironment.run(arguments)
        guard status == 0 else { throw CommandError("the PyTorch bench exited with status \(status)") }
        do { return try JSONDecoder().decode(PeerReport.self, from: Data(output.utf8)) } catch {
            throw CommandError("the PyTorch bench printed no report (\(error.localizedDescription))")
        }
    }
}

/// The widest x86 vector extension the CPU reports (`/proc/cpuinfo` flags).
enum HostISA {
    static var description: String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return "unknown" }
        let set = Set(flags.split(separator: " ").map(String.init))
        if set.contains("avx512f") { return "AVX-512 (avx512f" + (set.contains("avx512_bf16") ? ", avx512_bf16)" : ")") }
        if set.contains("avx2") { return "AVX2, no AVX-512" }
        return "no AVX2"
    }
}
