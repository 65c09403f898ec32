// glia bench conv: Conv2D forward and backward GFLOP/s on the ResUNet's convolution shapes, next to
// plain cblas_sgemm on the same GEMM sizes measured in the same run.
//
// FLOPs count 2·M·N·K per GEMM with M = N·Ho·Wo output pixels, N = Cout, K = k²·Cin:
// forward is one such GEMM, backward two (dW = dYᵀ·col and dcol = dY·W). The baseline runs exactly
// those GEMMs over whole, pre-filled matrices, so the ratio shows what im2col, col2im, bias and
// blocking cost on top of the arithmetic.
import ArgumentParser
import Foundation
import GliaCore

struct BenchConv: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv", abstract: "Convolution GFLOP/s against plain GEMM for the ResUNet's shapes.")

    @Option(help: "Images per batch.") var batch = 16
    @Option(help: "Input image side in pixels (the ResUNet's shapes scale with it; a multiple of 16).")
    var size = 256
    @Option(help: "Timed repetitions per measurement (the median is reported), after one warm-up.")
    var reps = 5
    @Option(help: "Only this shape, as Cin,Cout,k (e.g. 48,16,1); for profiling.")
    var only: String?

    /// One distinct ResUNet convolution: channels, kernel, side at a 256-pixel input, uses per pass.
    private struct Shape {
        let cin: Int, cout: Int, kernel: Int, side256: Int, uses: Int
    }

    /// From fixtures/parity/README.md ("Distinct convs").
    private static let shapes: [Shape] = [
        Shape(cin: 3, cout: 16, kernel: 3, side256: 256, uses: 1),
        Shape(cin: 16, cout: 16, kernel: 3, side256: 256, uses: 2),
        Shape(cin: 16, cout: 32, kernel: 1, side256: 128, uses: 2),
        Shape(cin: 32, cout: 32, kernel: 3, side256: 128, uses: 2),
        Shape(cin: 32, cout: 64, kernel: 1, side256: 64, uses: 2),
        Shape(cin: 64, cout: 64, kernel: 3, side256: 64, uses: 2),
        Shape(cin: 64, cout: 128, kernel: 1, side256: 32, uses: 2),
        Shape(cin: 128, cout: 128, kernel: 3, side256: 32, uses: 2),
        Shape(cin: 128, cout: 256, kernel: 1, side256: 16, uses: 2),
        Shape(cin: 256, cout: 256, kernel: 3, side256: 16, uses: 1),
        Shape(cin: 384, cout: 128, kernel: 1, side256: 32, uses: 2),
        Shape(cin: 192, cout: 64, kernel: 1, side256: 64, uses: 2),
        Shape(cin: 96, cout: 32, kernel: 1, side256: 128, uses: 2),
        Shape(cin: 48, cout: 16, kernel: 1, side256: 256, uses: 2),
        Shape(cin: 16, cout: 1, kernel: 1, side256: 256, uses: 1),
    ]

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive, got \(batch)") }
        guard size >= 16, size % 16 == 0 else { throw ValidationError("--size must be a positive multiple of 16, got \(size)") }
        guard reps > 0 else { throw ValidationError("--reps must be positive, got \(reps)") }
        if let only, selectedShapes.isEmpty {
            throw ValidationError("--only \(only) matches no ResUNet convolution (give Cin,Cout,k, e.g. 48,16,1)")
        }
    }

    /// The shapes to run: all, or the one `--only` names.
    private var selectedShapes: [Shape] {
        guard let only else { return Self.shapes }
        let parts = only.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return Self.shapes.filter { [$0.cin, $0.cout, $0.kernel] == parts }
    }

    func run() async throws {
        #if DEBUG
        print("WARNING: debug build; these numbers mean nothing. Use: swift build -c release && .build/release/glia bench conv")
        #endif
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print("glia bench conv: batch \(batch), \(size)x\(size) input, median of \(reps) interleaved rounds after 1 warm-up; "
              + "BLAS threads \(BLAS.threadCount) (\(BLAS.kernels.description) kernels), parallelFor workers \(ParallelConfig.workerCount), load avg \(load)")
        if let warning = BLAS.kernels.warning { print(warning) }
        print("GF/s = GFLOP/s. gemm = plain cblas_sgemm on the same M x N x K in this run; ratio = conv / gemm.")
        print("Backward = weight gradient + input gradient (two GEMMs). Timings on a shared machine are noisy.\n")
        let header = ["conv (Cin→Cout k H²)", "uses", "GFLOP", "fwd ms", "fwd GF/s", "gemm", "ratio",
                      "bwd ms", "bwd GF/s", "gemm", "ratio"]
        var rows: [[String]] = []
        var total = (flops: 0.0, fwd: 0.0, fwdGemm: 0.0, bwd: 0.0, bwdGemm: 0.0)
        var rng = RandomGenerator(seed: 1)
        for shape in selectedShapes {
            let side = shape.side256 * size / 256
            let m = measure(shape, side: side, rng: &rng)
            let flops = 2.0 * Double(batch * side * side) * Double(shape.cout) * Double(shape.kernel * shape.kernel * shape.cin)
            let uses = Double(shape.uses)
            total.flops += uses * flops
            total.fwd += uses * m.fwd; total.fwdGemm += uses * m.fwdGemm
            total.bwd += uses * m.bwd; total.bwdGemm += uses * m.bwdGemm
            rows.append(["\(shape.cin)→\(shape.cout) k\(shape.kernel) \(side)²", "\(shape.uses)",
                         fixed(flops / 1e9, 2)] + columns(flops, m.fwd, m.fwdGemm, m.bwd, m.bwdGemm))
        }
        rows.append(["total (× uses)", "", fixed(total.flops / 1e9, 2)]
                    + columns(total.flops, total.fwd, total.fwdGemm, total.bwd, total.bwdGemm))
        printTable(header: header, rows: rows)
    }

    /// ms and GF/s for forward and backward, with the GEMM baselines' GF/s and the ratios.
    private func columns(_ flops: Double, _ fwd: Double, _ fwdGemm: Double, _ bwd: Double, _ bwdGemm: Double) -> [String] {
        let g = { (f: Double, t: Double) in f / t / 1e9 }
        return [fixed(fwd * 1e3, 1), fixed(g(flops, fwd), 1), fixed(g(flops, fwdGemm), 1), fixed(fwdGemm / fwd, 2),
                fixed(bwd * 1e3, 1), fixed(g(2 * flops, bwd), 1), fixed(g(2 * flops, bwdGemm), 1), fixed(bwdGemm / bwd, 2)]
    }

    /// Median seconds of the conv forward, conv backward and their plain-GEMM baselines.
    private func measure(_ shape: Shape, side: Int, rng: inout RandomGenerator)
        -> (fwd: Double, fwdGemm: Double, bwd: Double, bwdGemm: Double) {
        let conv = Conv2D(name: "bench", inChannels: shape.cin, outChannels: shape.cout, kernelSize: shape.kernel,
                          padding: shape.kernel / 2, rng: &rng)
        let x = Tensor(shape: [batch, side, side, shape.cin]) { _ in rng.uniform(-1, 1) }
        let dy = Tensor(shape: [batch, side, side, shape.cout]) { _ in rng.uniform(-1, 1) }
        let (mm, n, k) = (batch * side * side, shape.cout, shape.kernel * shape.kernel * shape.cin)
        // Baseline operands. Only a (col, then dcol = dy·w, the same every round) and dw (+= per
        // round) are overwritten, so values stay bounded however many rounds run.
        let a = UnsafeMutablePointer<Float>.allocate(capacity: mm * k)
        let w = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let dw = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: mm * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: mm * n)   // dy, never written
        defer { a.deallocate(); w.deallocate(); dw.deallocate(); y.deallocate(); c.deallocate() }
        for i in 0..<(mm * k) { a[i] = Float(i % 7) * 0.1 - 0.3 }
        for i in 0..<(n * k) { w[i] = Float(i % 5) * 0.1 - 0.2; dw[i] = 0 }
        for i in 0..<(mm * n) { c[i] = Float(i % 3) * 0.1 - 0.1; y[i] = 0 }
        // The measurements take turns, so load from other processes hits them alike. The baselines
        // split C's rows over the same workers the convolution uses (OpenBLAS runs one thread per call).
        let times = medians([
            { _ = conv.forward(x, mode: .training) },  // training only keeps x, and backward needs it
            { _ = conv.backward(dy) },
            { BLAS.gemmAcrossWorkers(transposeB: true, m: mm, n: n, k: k, a: a, lda: k, b: w, ldb: k, c: y, ldc: n) },
            {
                BLAS.gemmAcrossWorkers(transposeA: true, m: n, n: k, k: mm, a: c, lda: n, b: a, ldb: k, beta: 1,
                                       c: dw, ldc: k)
                BLAS.gemmAcrossWorkers(m: mm, n: k, k: n, a: c, lda: n, b: w, ldb: k, c: a, ldc: k)
            },
        ])
        let (fwd, bwd, fwdGemm, bwdGemm) = (times[0], times[1], times[2], times[3])
        return (fwd, fwdGemm, bwd, bwdGemm)
    }

    /// Median wall time in seconds of each body over `reps` rounds (each round runs every body once,
    /// in order, then pauses 0.2 s), after one untimed warm-up round.
    private func medians(_ bodies: [() -> Void]) -> [Double] {
        let clock = ContinuousClock()
        var times = Array(repeating: [Double](), count: bodies.count)
        for round in 0...reps {
            for (i, body) in bodies.enumerated() {
                let d = clock.measure(body)
                if round > 0 { times[i].append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) }
            }
            usleep(200_000)
        }
        return times.map { t in
            let s = t.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    private func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    /// Left-aligned first column, right-aligned numbers.
    private func printTable(header: [String], rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { col in all.map { $0[col].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        print(line(header))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for (i, row) in rows.enumerated() {
            if i == rows.count - 1 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
            print(line(row))
        }
    }
}
