// glia bench models: Glia's figures, then PyTorch's from the same run side by side with ratios, the
// host ISA and both GEMM rates; without PyTorch, Glia's alone and how to install it. Tiny settings
// (ResUNet, batch 1, 128 px, one rep, no train step) keep each run to seconds.
import Foundation
import GliaTestSupport
import GliaTraining
import XCTest

final class BenchModelsTests: XCTestCase {
    private let quick = ["bench", "models", "--models", "resunet", "--batch", "1", "--size", "128", "--reps", "1",
                         "--warmup", "0", "--latency-reps", "1", "--no-train"]

    func testWithoutPyTorchPrintsGliaAloneAndHowToInstallIt() throws {
        let result = try GliaProcess.run(quick, environment: ["GLIA_TORCH_PYTHON": "/nonexistent/python"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertTrue(result.output.contains("PyTorch not run: no PyTorch at /nonexistent/python; install with scripts/install-torch.sh"),
                      result.output)
        let header = try XCTUnwrap(result.output.split(separator: "\n").first { $0.hasPrefix("model ") })
        XCTAssertFalse(header.contains("PyTorch") || header.contains("norm") || header.contains("ratio"), String(header))
        XCTAssertTrue(result.output.contains("Host: "), result.output)
        XCTAssertTrue(result.output.split(separator: "\n").contains { $0.hasPrefix("ResUNet ") }, result.output)
    }

    func testWithPyTorchPrintsBothSideBySideWithRatios() throws {
        if let reason = TorchEnvironment.unavailableReason() {
            print("BenchModelsTests skipped: \(reason)")
            throw XCTSkip(reason)
        }
        let result = try GliaProcess.run(quick)
        XCTAssertEqual(result.status, 0, result.errors)
        let lines = result.output.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.first { $0.hasPrefix("model ") })
        XCTAssertEqual(header.split(separator: " ", omittingEmptySubsequences: true).filter { $0 == "PyTorch" }.count, 3, header)
        XCTAssertFalse(header.contains("norm"), header)
        let row = try XCTUnwrap(lines.first { $0.hasPrefix("ResUNet ") }).split(separator: " ").map(String.init)
        // Inference: Glia img/s, PyTorch img/s, ratio = their quotient (as printed, to 2 decimals).
        let cells = row.dropFirst().filter { !$0.isEmpty }
        let (glia, torch, ratio) = (Double(cells[3])!, Double(cells[4])!, Double(cells[5].dropLast())!)
        XCTAssertGreaterThan(torch, 0)
        XCTAssertEqual(ratio, glia / torch, accuracy: 0.02, row.joined(separator: " "))
        XCTAssertTrue(lines.contains { $0.contains("cblas_sgemm") && $0.contains("torch.mm") }, result.output)
    }
}
