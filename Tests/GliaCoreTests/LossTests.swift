import Foundation
import GliaCore
import GliaTestSupport
import XCTest

final class LossTests: XCTestCase {
    // MARK: forward values against hand computation

    func testCrossEntropyValues() throws {
        // Row 0: [0, ln 3], label 1: softmax = [1/4, 3/4], loss ln(4/3).
        // Row 1: [0, 0], label 0: loss ln 2. Mean: (ln(4/3) + ln 2) / 2.
        let logits = Tensor(shape: [2, 2], scalars: [0, Float(log(3.0)), 0, 0])
        let r = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [1, 0])
        XCTAssertEqual(Double(r.value), (log(4.0 / 3) + log(2.0)) / 2, accuracy: 1e-6)
        // dL/dz = (softmax - onehot) / N
        let expected: [Float] = [0.25 / 2, -0.25 / 2, -0.5 / 2, 0.5 / 2]
        for (g, e) in zip(r.gradient.scalars, expected) { XCTAssertEqual(g, e, accuracy: 1e-6) }
    }

    func testCrossEntropyIsStableForHugeLogits() throws {
        let logits = Tensor(shape: [1, 3], scalars: [1000, 0, -1000])
        let r = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [1])
        XCTAssertEqual(r.value, 1000, accuracy: 1e-3)
        XCTAssert(r.gradient.isFinite)
        XCTAssertEqual(r.gradient.scalars[0], 1, accuracy: 1e-6)
        XCTAssertEqual(r.gradient.scalars[1], -1, accuracy: 1e-6)
    }

    func testCrossEntropyRejectsBadLabels() {
        let logits = Tensor(shape: [2, 2])
        XCTAssertThrowsError(try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [0, 2])) {
            XCTAssertEqual($0 as? LossError, .labelOutOfRange(label: 2, index: 1, classes: 2))
        }
        XCTAssertThrowsError(try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [0]))
    }

    func testBinaryCrossEntropyValues() throws {
        let p = Tensor(shape: [2], scalars: [0.5, 0.9])
        let y = Tensor(shape: [2], scalars: [1, 0])
        let r = try BinaryCrossEntropy().evaluate(probabilities: p, targets: y)
        XCTAssertEqual(Double(r.value), -(log(0.5) + log(1 - Double(Float(0.9)))) / 2, accuracy: 1e-6)
        // (p - y) / (p (1 - p)) / M: (0.5 - 1) / 0.25 / 2 = -1; 0.9 / 0.09 / 2 = 5
        XCTAssertEqual(r.gradient.scalars[0], -1, accuracy: 1e-5)
        XCTAssertEqual(r.gradient.scalars[1], 5, accuracy: 1e-4)
    }

    func testBinaryCrossEntropyClampsLogLikePyTorch() throws {
        // p = 0 with y = 1 and p = 1 with y = 0 each cost 100 (ln clamped at -100); the right ones cost 0.
        let p = Tensor(shape: [4], scalars: [0, 1, 1, 0])
        let y = Tensor(shape: [4], scalars: [1, 0, 1, 0])
        let r = try BinaryCrossEntropy().evaluate(probabilities: p, targets: y)
        XCTAssertEqual(r.value, 50, accuracy: 1e-5)
        XCTAssert(r.gradient.isFinite)
        XCTAssertLessThan(r.gradient.scalars[0], -1e9)
        XCTAssertGreaterThan(r.gradient.scalars[1], 1e9)
    }

    /// p = [1, 0, 0.5, 0.5], y = [1, 1, 0, 1]: TP = 1.5, sum p = 2, sum y = 3, FN = 1.5, FP = 0.5.
    private let handP = Tensor(shape: [2, 2], scalars: [1, 0, 0.5, 0.5])
    private let handY = Tensor(shape: [2, 2], scalars: [1, 1, 0, 1])

    func testDiceValue() throws {
        let r = try DiceLoss().evaluate(probabilities: handP, targets: handY)
        XCTAssertEqual(r.value, 1 - 4.0 / 6.0, accuracy: 1e-6)  // 1 - (2*1.5+1)/(2+3+1)
        // -(2 y B - A) / B^2 with A = 4, B = 6: y=1 -> -8/36, y=0 -> 4/36
        XCTAssertEqual(r.gradient.scalars[0], -8.0 / 36, accuracy: 1e-6)
        XCTAssertEqual(r.gradient.scalars[2], 4.0 / 36, accuracy: 1e-6)
    }

    func testTverskyValues() throws {
        // N = 2.5, D = 1.5 + 0.7*1.5 + 0.3*0.5 + 1 = 3.7
        let ti = 2.5 / 3.7
        let t = try TverskyLoss().evaluate(probabilities: handP, targets: handY)
        XCTAssertEqual(Double(t.value), 1 - ti, accuracy: 1e-6)
        let f = try FocalTverskyLoss().evaluate(probabilities: handP, targets: handY)
        XCTAssertEqual(Double(f.value), pow(1 - ti, 0.75), accuracy: 1e-6)
        // y = 0 element: dTI = -N * 0.3 / D^2, tversky gradient = +0.75 / 3.7^2
        XCTAssertEqual(Double(t.gradient.scalars[2]), 0.75 / (3.7 * 3.7), accuracy: 1e-6)
        XCTAssertEqual(Double(f.gradient.scalars[2]),
                       0.75 * pow(1 - ti, -0.25) * 0.75 / (3.7 * 3.7), accuracy: 1e-6)
    }

    func testPerfectPredictionGivesZeroLossAndGradient() throws {
        let y = Tensor(shape: [3], scalars: [1, 0, 1])
        let f = try FocalTverskyLoss().evaluate(probabilities: y, targets: y)
        XCTAssertEqual(f.value, 0)
        XCTAssertEqual(f.gradient.scalars, [0, 0, 0])
        let d = try DiceLoss().evaluate(probabilities: y, targets: y)
        XCTAssertEqual(d.value, 0, accuracy: 1e-7)
    }

    func testMaskLossesRejectShapeMismatch() {
        let losses: [any ProbabilityLoss] = [BinaryCrossEntropy(), DiceLoss(), TverskyLoss(), FocalTverskyLoss()]
        for loss in losses {
            XCTAssertThrowsError(try loss.evaluate(probabilities: Tensor(shape: [2, 2]), targets: Tensor(shape: [4]))) {
                XCTAssertEqual($0 as? LossError, .shapeMismatch(loss: loss.name, input: [2, 2], target: [4]))
            }
        }
    }

    func testDiceBCEIsTheSumOfItsParts() throws {
        let p = Tensor(shape: [4], scalars: [0.2, 0.9, 0.6, 0.1])
        let y = Tensor(shape: [4], scalars: [0, 1, 1, 0])
        let sum = try DiceBCELoss().evaluate(probabilities: p, targets: y)
        let dice = try DiceLoss().evaluate(probabilities: p, targets: y)
        let bce = try BinaryCrossEntropy().evaluate(probabilities: p, targets: y)
        XCTAssertEqual(sum.value, dice.value + bce.value, accuracy: 1e-6)
        for i in 0..<4 {
            XCTAssertEqual(sum.gradient.scalars[i], dice.gradient.scalars[i] + bce.gradient.scalars[i], accuracy: 1e-6)
        }
    }

    // MARK: gradient checks

    func testCrossEntropyGradientCheck() throws {
        var logits = GradientCheck.randomTensor([3, 4], seed: 11, scale: 2)
        let labels = [2, 0, 3]
        let analytic = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels).gradient
        let indices = Array(0..<logits.count)
        let numeric = GradientCheck.numericGradient(
            indices: indices, get: { logits.scalars[$0] }, set: { logits.scalars[$0] = $1 }, epsilon: 1e-2,
            loss: { Double((try? SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels).value) ?? .nan) })
        XCTAssertLessThan(GradientCheck.relativeError(analytic: analytic.scalars, numeric: numeric), 1e-3)
    }

    func testMaskLossGradientChecks() throws {
        var rng = RandomGenerator(seed: 5)
        let shape = [2, 3, 4, 1]
        let y = Tensor(shape: shape) { _ in rng.nextUniform() < 0.4 ? 1 : 0 }
        let losses: [any ProbabilityLoss] = [
            BinaryCrossEntropy(), DiceLoss(), TverskyLoss(), FocalTverskyLoss(), FocalTverskyLoss(gamma: 1.5),
            DiceBCELoss(),
        ]
        for loss in losses {
            var p = Tensor(shape: shape) { _ in rng.uniform(0.2, 0.8) }
            let analytic = try loss.evaluate(probabilities: p, targets: y).gradient
            let numeric = GradientCheck.numericGradient(
                indices: Array(0..<p.count), get: { p.scalars[$0] }, set: { p.scalars[$0] = $1 }, epsilon: 1e-3,
                loss: { Double((try? loss.evaluate(probabilities: p, targets: y).value) ?? .nan) })
            let error = GradientCheck.relativeError(analytic: analytic.scalars, numeric: numeric)
            XCTAssertLessThan(error, 2e-3, "\(loss.name) gradient")
        }
    }

    // MARK: parity fixture

    func testMaskLossesMatchParityFixture() throws {
        guard let dir = Fixtures.parity else { throw XCTSkip(Fixtures.skipMessage("GLIA_FIXTURES")) }
        let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("resunet.safetensors"))
        let p = try file.tensor(named: "train.out")
        let y = try file.tensor(named: "input.y")
        let cases: [(String, any ProbabilityLoss)] = [
            ("loss.bce", BinaryCrossEntropy()), ("loss.dice", DiceLoss()),
            ("loss.tversky", TverskyLoss()), ("loss.focal_tversky", FocalTverskyLoss()),
        ]
        for (key, loss) in cases where file.names.contains(key) {
            let expected = try file.tensor(named: key).scalars[0]
            let value = try loss.evaluate(probabilities: p, targets: y).value
            XCTAssertEqual(value, expected, accuracy: 1e-6 * abs(expected) + 1e-7, key)
        }
    }

    func testCrossEntropyMatchesParityFixture() throws {
        guard let dir = Fixtures.parity else { throw XCTSkip(Fixtures.skipMessage("GLIA_FIXTURES")) }
        let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("resnet.safetensors"))
        let labels = try file.tensor(named: "input.labels").scalars.map { Int($0) }
        let r = try SoftmaxCrossEntropy().evaluate(logits: file.tensor(named: "train.logits"), labels: labels)
        let expected = try file.tensor(named: "loss.ce").scalars[0]
        XCTAssertEqual(r.value, expected, accuracy: 2e-6 * abs(expected))
    }
}
