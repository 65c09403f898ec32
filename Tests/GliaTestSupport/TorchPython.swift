// The Python with PyTorch and glia-torch that the Glia <-> PyTorch tests drive. scripts/install-torch.sh
// (run by .ci/run) makes it; where it is missing the tests skip and say how to install it.
import Foundation

/// The glia-torch virtual environment's interpreter.
public enum TorchPython {
    /// $GLIA_TORCH_PYTHON, else the interpreter of install-torch.sh's default venv
    /// ($GLIA_TORCH_VENV or ~/.cache/glia/torch-venv).
    public static var interpreter: URL {
        let env = ProcessInfo.processInfo.environment
        if let python = env["GLIA_TORCH_PYTHON"], !python.isEmpty { return URL(fileURLWithPath: python) }
        let venv = env["GLIA_TORCH_VENV"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/glia/torch-venv").path
        return URL(fileURLWithPath: venv).appendingPathComponent("bin/python")
    }

    /// Nil when the interpreter imports torch and glia_torch, else why not (for XCTSkip).
    public static var unavailableReason: String? {
        let python = interpreter
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            return "no PyTorch venv at \(python.path): run scripts/install-torch.sh (or set GLIA_TORCH_PYTHON)"
        }
        guard let result = try? GliaProcess.run(program: python, ["-c", "import torch, glia_torch"]),
              result.status == 0 else {
            return "\(python.path) cannot import torch and glia_torch: run scripts/install-torch.sh"
        }
        return nil
    }

    /// Runs `python arguments` with one thread per process (the CI machine has two cores) and
    /// returns the result.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> GliaProcess.Result {
        try GliaProcess.run(program: interpreter, arguments,
                            environment: ["OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"].merging(environment) { $1 })
    }
}
