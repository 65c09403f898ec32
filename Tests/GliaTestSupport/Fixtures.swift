// Where tests find material outside the repository. `.ci/run` points these variables at
// ../shared; without them, tests that need the material print that they were skipped.
import Foundation

/// Paths to shared test material, from environment variables.
public enum Fixtures {
    /// The real LGG sample (kaggle_3m layout), from `GLIA_SAMPLE_DATA`.
    public static var sampleData: URL? { directory("GLIA_SAMPLE_DATA") }
    /// The shared fixtures folder (contains `parity/`), from `GLIA_FIXTURES`.
    public static var fixtures: URL? { directory("GLIA_FIXTURES") }
    /// The parity fixtures folder, `$GLIA_FIXTURES/parity`.
    public static var parity: URL? { fixtures?.appendingPathComponent("parity") }

    private static func directory(_ variable: String) -> URL? {
        guard let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue
        else { return nil }
        return URL(fileURLWithPath: path)
    }

    /// A message for XCTSkip naming the missing variable.
    public static func skipMessage(_ variable: String) -> String {
        "skipped: set \(variable) (see .ci/run) to run this test on shared material"
    }
}
