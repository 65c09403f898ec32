// The Python with PyTorch and glia-torch (glia-torch/, installed by scripts/install-torch.sh): what
// `glia bench models` runs its PyTorch peer figures in, and what the Glia <-> PyTorch tests drive.
import Foundation

/// Locates and runs the glia-torch virtual environment's interpreter.
public enum TorchEnvironment {
    /// How to get one, for messages.
    public static let installHint = "scripts/install-torch.sh (a venv with PyTorch and ./glia-torch), "
        + "or: python3 -m venv V && V/bin/pip install torch ./glia-torch, then GLIA_TORCH_PYTHON=V/bin/python"

    /// $GLIA_TORCH_PYTHON, else bin/python of $GLIA_TORCH_VENV, else of ~/.cache/glia/torch-venv
    /// (install-torch.sh's default).
    public static func interpreter(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let python = environment["GLIA_TORCH_PYTHON"], !python.isEmpty { return URL(fileURLWithPath: python) }
        let venv = environment["GLIA_TORCH_VENV"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/glia/torch-venv").path
        return URL(fileURLWithPath: venv).appendingPathComponent("bin/python")
    }

    /// Nil when the interpreter imports torch and glia_torch; else why not, with how to install them.
    public static func unavailableReason(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let python = interpreter(environment: environment)
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            return "no PyTorch at \(python.path); install with \(installHint)"
        }
        guard let (status, _) = try? run(["-c", "import torch, glia_torch"], silent: true), status == 0 else {
            return "\(python.path) cannot import torch and glia_torch; install with \(installHint)"
        }
        return nil
    }

    /// Runs the interpreter with `arguments` to its end: exit status and standard output (standard
    /// error goes to Glia's, or nowhere when `silent`).
    public static func run(_ arguments: [String], silent: Bool = false) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = interpreter()
        process.arguments = arguments
        // Standard output goes through a file, so a long JSON line cannot fill a pipe while we wait.
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("glia-torch-\(UUID().uuidString).out")
        guard FileManager.default.createFile(atPath: capture.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: capture.path])
        }
        defer { try? FileManager.default.removeItem(at: capture) }
        let out = try FileHandle(forWritingTo: capture)
        process.standardOutput = out
        process.standardError = silent ? FileHandle.nullDevice : FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        try out.close()
        return (process.terminationStatus, try String(contentsOf: capture, encoding: .utf8))
    }
}
