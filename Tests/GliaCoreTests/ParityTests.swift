import GliaCore
import GliaTestSupport
import XCTest

/// The worst error of each quantity against its README tolerance; asserts and prints a table.
struct ParityReport {
    struct Row {
        let quantity: String
        let metric: String
        let tolerance: Double
        var worst: Double
        var worstKey: String
        var checked: Int
    }

    let title: String
    private(set) var rows: [Row] = []

    init(title: String) { self.title = title }

    /// Records the error of `key` under `quantity`, keeping the worst.
    mutating func record(_ quantity: String, metric: String, tolerance: Double, error: Double, key: String) {
        if let i = rows.firstIndex(where: { $0.quantity == quantity }) {
            rows[i].checked += 1
            // A NaN is the worst possible error: once recorded it stays, so the check fails.
            if !rows[i].worst.isNaN && (error.isNaN || error > rows[i].worst) {
                rows[i].worst = error
                rows[i].worstKey = key
            }
        } else {
            rows.append(Row(quantity: quantity, metric: metric, tolerance: tolerance, worst: error, worstKey: key, checked: 1))
        }
    }

    /// The table: quantity, metric, worst error, tolerance, tensors checked, worst tensor.
    var table: String {
        var lines = ["\(title): worst error per quantity (tolerances from fixtures/parity/README.md)"]
        for r in rows {
            let name = r.quantity.padding(toLength: 26, withPad: " ", startingAt: 0)
            let metric = r.metric.padding(toLength: 20, withPad: " ", startingAt: 0)
            lines.append("  \(name) \(metric) \(String(format: "%9.2e", r.worst)) <= \(String(format: "%7.1e", r.tolerance))"
                         + "  (\(r.checked) checked, worst \(r.worstKey))")
        }
        return lines.joined(separator: "\n")
    }

    /// Fails the test for every quantity over its tolerance, then prints the table.
    func assertWithinTolerances(file: StaticString = #filePath, line: UInt = #line) {
        for r in rows {
            XCTAssert(r.worst <= r.tolerance,
                      "\(title) \(r.quantity): \(r.worst) > \(r.tolerance) at \(r.worstKey)", file: file, line: line)
        }
        print(table)
    }
}

extension Tensor {
    /// The sub-tensors `self[i]` for `i` in `index` along the first axis (the fixtures' `gradrows`).
    func rows(_ index: [Int]) -> Tensor {
        let size = count / shape[0]
        return Tensor(shape: [index.count] + shape.dropFirst(),
                      scalars: index.flatMap { scalars[($0 * size)..<(($0 + 1) * size)] })
    }
}

/// Opens a parity fixture or skips the test when the fixtures are not configured.
func parityFixture(_ name: String) throws -> SafeTensorsFile {
    guard let dir = Fixtures.parity else { throw XCTSkip(Fixtures.skipMessage("GLIA_FIXTURES")) }
    return try SafeTensorsFile(contentsOf: dir.appendingPathComponent(name))
}

/// The metrics and the report are themselves checked, so a broken metric cannot pass every parity test.
final class ParityTests: XCTestCase {
    func testMetricsAndReport() {
        let ref = Tensor(shape: [2, 2], scalars: [3, -4, 0, 0])
        let a = Tensor(shape: [2, 2], scalars: [3, -4, 0.5, 0])
        XCTAssertEqual(ParityMetric.maxAbs(a, ref), 0.5)
        XCTAssertEqual(ParityMetric.maxAbsOverMaxRef(a, ref), 0.125)
        XCTAssertEqual(ParityMetric.relativeL2(a, ref), 0.1, accuracy: 1e-12)
        XCTAssertEqual(ParityMetric.relative(1.1, 1), 0.1, accuracy: 1e-12)

        let t = Tensor(shape: [3, 2]) { Float($0) }
        XCTAssertEqual(t.rows([0, 2]), Tensor(shape: [2, 2], scalars: [0, 1, 4, 5]))

        var report = ParityReport(title: "t")
        report.record("q", metric: "m", tolerance: 1, error: 0.2, key: "a")
        report.record("q", metric: "m", tolerance: 1, error: 0.7, key: "b")
        report.record("q", metric: "m", tolerance: 1, error: 0.1, key: "c")
        report.record("r", metric: "m", tolerance: 1, error: .nan, key: "d")
        report.record("r", metric: "m", tolerance: 1, error: 0.1, key: "e")
        XCTAssertEqual(report.rows.map(\.worstKey), ["b", "d"])
        XCTAssertEqual(report.rows.map(\.checked), [3, 2])
        XCTAssertFalse(report.rows[1].worst <= 1, "NaN must fail the tolerance check")
    }
}
