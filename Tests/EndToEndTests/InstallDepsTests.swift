// scripts/install-deps.sh, the README's first quick-start step: as root it calls apt-get directly
// (containers have no sudo), otherwise through sudo; one package list; unknown options are refused.
import Foundation
import XCTest

final class InstallDepsTests: XCTestCase {
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/install-deps.sh")

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [Self.script.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testDryRunUsesSudoOnlyWhenNotRoot() throws {
        let (status, output) = try run(["--dry-run"])
        let hasSudo = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/sudo") }
        if getuid() != 0 && !hasSudo {
            XCTAssertEqual(status, 1)
            XCTAssertTrue(output.hasPrefix("install-deps.sh: not root and no sudo; as root run: apt-get install -y libncursesw5-dev"), output)
            return
        }
        XCTAssertEqual(status, 0, output)
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, output)
        let prefix = getuid() == 0 ? "" : "sudo "
        XCTAssertEqual(lines.first, prefix + "apt-get update -qq")
        XCTAssertEqual(lines.last, prefix + "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                       + "libncursesw5-dev libtiff-dev libopenblas-dev libnifti2-dev pkg-config tmux ncurses-term python3-nibabel")
    }

    func testUnknownOptionIsRefusedByName() throws {
        let (status, output) = try run(["--yes"])
        XCTAssertEqual(status, 2)
        XCTAssertEqual(output, "install-deps.sh: unknown option '--yes' (only --dry-run)\n")
    }
}
