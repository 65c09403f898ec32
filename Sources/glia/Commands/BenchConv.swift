// glia bench conv: placeholder replaced by the convolution benchmark.
import ArgumentParser

struct BenchConv: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv", abstract: "Convolution GFLOP/s against plain GEMM for the ResUNet's shapes.")
    func run() async throws {
        throw ValidationError("glia bench conv is not built yet")
    }
}
