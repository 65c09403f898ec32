import Foundation
import GliaCore
import GliaTestSupport
import XCTest

final class OptimizerTests: XCTestCase {
    private func parameter(_ name: String, _ values: [Float], grad: [Float]) -> Parameter {
        let p = Parameter(name: name, value: Tensor(shape: [values.count], scalars: values))
        p.grad = Tensor(shape: [grad.count], scalars: grad)
        return p
    }

    // MARK: Adam

    func testAdamFirstStepsByHand() throws {
        let adam = try Adam(learningRate: 1e-3)
        let p = parameter("w", [1, -2, 0.5], grad: [1, -1, 0])
        adam.step([p])
        // Step 1: m = 0.1 g, v = 0.001 g^2, so the update is lr * g / (|g| + eps) = lr * sign(g); g = 0 moves nothing.
        XCTAssertEqual(p.value.scalars[0], 1 - 1e-3, accuracy: 1e-7)
        XCTAssertEqual(p.value.scalars[1], -2 + 1e-3, accuracy: 3e-7)
        XCTAssertEqual(p.value.scalars[2], 0.5)
        // Step 2 with g = -1 on the first element: m = 0.09 - 0.1 = -0.01, v = 0.000999 + 0.001 = 0.001999;
        // m^ = -0.01 / 0.19, v^ = 1, so the update is +lr * 0.01 / 0.19 = +5.2631579e-5.
        p.grad = Tensor(shape: [3], scalars: [-1, -1, 0])
        adam.step([p])
        XCTAssertEqual(p.value.scalars[0], 1 - 1e-3 + 5.2631579e-5, accuracy: 1e-7)
        // A constant gradient moves lr * sign(g) every step (bias correction cancels exactly).
        XCTAssertEqual(p.value.scalars[1], -2 + 2e-3, accuracy: 3e-7)
    }

    func testAdamWeightDecayCoupledVersusDecoupled() throws {
        let coupled = parameter("w", [1], grad: [0])
        try Adam(learningRate: 1e-3, weightDecay: 0.1).step([coupled])
        // g = 0 + 0.1 * 1 = 0.1 -> moves lr * sign = 1e-3.
        XCTAssertEqual(coupled.value.scalars[0], 1 - 1e-3, accuracy: 1e-7)
        let decoupled = parameter("w", [1], grad: [0])
        try Adam(learningRate: 1e-3, weightDecay: 0.1, decoupledWeightDecay: true).step([decoupled])
        // p *= 1 - lr * wd; the zero gradient adds nothing.
        XCTAssertEqual(decoupled.value.scalars[0], 1 - 1e-4, accuracy: 1e-7)
    }

    func testFrozenParametersAreSkipped() throws {
        let adam = try Adam()
        let frozen = parameter("frozen", [1], grad: [1])
        frozen.isFrozen = true
        let live = parameter("live", [1], grad: [1])
        adam.step([frozen, live])
        XCTAssertEqual(frozen.value.scalars, [1])
        XCTAssertNotEqual(live.value.scalars, [1])
        XCTAssertEqual(Set(adam.stateTensors(for: [frozen, live]).keys), ["lr", "live.exp_avg", "live.exp_avg_sq", "live.step"])
    }

    func testAdamStateResumesExactly() throws {
        let grads: [[Float]] = [[0.3, -1.2], [0.5, 0.1], [-0.7, 2.0]]
        let straight = try Adam(learningRate: 1e-2)
        let a = parameter("layer.w", [0.2, 0.4], grad: grads[0])
        straight.step([a])
        a.grad.scalars = grads[1]
        straight.step([a])
        straight.learningRate = 5e-3
        let saved = straight.stateTensors(for: [a])
        XCTAssertEqual(saved["layer.w.step"]?.scalars, [2])

        let resumed = try Adam(learningRate: 1)
        let b = parameter("layer.w", a.value.scalars, grad: grads[2])
        try resumed.loadState(saved, for: [b])
        XCTAssertEqual(resumed.learningRate, 5e-3)
        a.grad.scalars = grads[2]
        straight.step([a])
        resumed.step([b])
        XCTAssertEqual(a.value, b.value)
    }

    func testStateLoadingRejectsBadState() throws {
        let adam = try Adam()
        let p = parameter("w", [1, 2], grad: [1, 1])
        adam.step([p])
        var state = adam.stateTensors(for: [p])
        state["w.exp_avg"] = Tensor(shape: [3])
        XCTAssertThrowsError(try Adam().loadState(state, for: [p])) {
            XCTAssertEqual($0 as? OptimizerError, .stateShapeMismatch(name: "w.exp_avg", state: [3], parameter: [2]))
        }
        state["w.exp_avg"] = nil
        XCTAssertThrowsError(try Adam().loadState(state, for: [p])) {
            XCTAssertEqual($0 as? OptimizerError, .incompleteState(parameter: "w", missing: "w.exp_avg"))
        }
        XCTAssertThrowsError(try Adam().loadState(adam.stateTensors(for: [p]), for: [])) {
            XCTAssertEqual($0 as? OptimizerError, .unexpectedState("w.exp_avg"))
        }
        XCTAssertThrowsError(try Adam(beta1: 1))
    }

    func testAdamMatchesParityFixture() throws {
        guard let dir = Fixtures.parity else { throw XCTSkip(Fixtures.skipMessage("GLIA_FIXTURES")) }
        let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("resunet.safetensors"))
        let names = file.names.filter { $0.hasPrefix("adam.") }.map { String($0.dropFirst(5)) }
        XCTAssertEqual(names.count, 89)
        let parameters = try names.map { name in
            let p = Parameter(name: name, value: try file.tensor(named: name))
            p.grad = try file.tensor(named: "grad." + name)
            return p
        }
        try Adam(learningRate: 1e-3).step(parameters)
        var worst: Float = 0
        for p in parameters {
            let expected = try file.tensor(named: "adam." + p.name)
            for (a, e) in zip(p.value.scalars, expected.scalars) { worst = max(worst, abs(a - e)) }
        }
        XCTAssertLessThan(worst, 1e-6)
    }

    // MARK: SGD

    func testSGDMomentumByHand() throws {
        let sgd = try SGD(learningRate: 0.1, momentum: 0.9)
        let p = parameter("w", [0], grad: [1])
        // buf = 1, 1.9, 2.71 -> p = -0.1, -0.29, -0.561
        var expected: [Float] = []
        for _ in 0..<3 { sgd.step([p]); expected.append(p.value.scalars[0]) }
        for (a, e) in zip(expected, [-0.1, -0.29, -0.561] as [Float]) { XCTAssertEqual(a, e, accuracy: 1e-6) }
        XCTAssertEqual(sgd.stateTensors(for: [p])["w.momentum_buffer"]!.scalars[0], 2.71, accuracy: 1e-6)
    }

    func testSGDDampeningNesterovAndDecay() throws {
        let damped = parameter("w", [0], grad: [1])
        let sgd = try SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.5)
        sgd.step([damped])
        sgd.step([damped])
        // First buffer is the undamped gradient (1), then 0.9 + 0.5 = 1.4.
        XCTAssertEqual(damped.value.scalars[0], -0.24, accuracy: 1e-6)

        let nesterov = parameter("w", [0], grad: [1])
        let n = try SGD(learningRate: 0.1, momentum: 0.9, nesterov: true)
        n.step([nesterov])
        n.step([nesterov])
        // d = g + mu * buf: 1.9 then 1 + 0.9 * 1.9 = 2.71.
        XCTAssertEqual(nesterov.value.scalars[0], -0.461, accuracy: 1e-6)

        let decayed = parameter("w", [1], grad: [0])
        try SGD(learningRate: 0.1, weightDecay: 0.1).step([decayed])
        XCTAssertEqual(decayed.value.scalars[0], 0.99, accuracy: 1e-7)

        XCTAssertThrowsError(try SGD(learningRate: 0.1, nesterov: true))
        XCTAssertThrowsError(try SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true))
    }

    func testSGDStateResumes() throws {
        let a = parameter("w", [0], grad: [1])
        let sgd = try SGD(learningRate: 0.1, momentum: 0.9)
        sgd.step([a])
        let b = parameter("w", a.value.scalars, grad: [1])
        let resumed = try SGD(learningRate: 0.1, momentum: 0.9)
        try resumed.loadState(sgd.stateTensors(for: [a]), for: [b])
        sgd.step([a])
        resumed.step([b])
        XCTAssertEqual(a.value, b.value)
        XCTAssertEqual(b.value.scalars[0], -0.29, accuracy: 1e-6)
    }

    func testZeroGradients() throws {
        let p = parameter("w", [1], grad: [3])
        try SGD(learningRate: 0.1).zeroGradients([p])
        XCTAssertEqual(p.grad.scalars, [0])
    }

    // MARK: clipping

    func testClipGradientNorm() {
        let a = parameter("a", [0, 0], grad: [3, 4])
        let b = parameter("b", [0], grad: [12])
        let frozen = parameter("f", [0], grad: [100])
        frozen.isFrozen = true
        XCTAssertEqual(clipGradientNorm([a, b, frozen], maxNorm: 20), 13, accuracy: 1e-6)
        XCTAssertEqual(a.grad.scalars, [3, 4])
        XCTAssertEqual(clipGradientNorm([a, b, frozen], maxNorm: 6.5), 13, accuracy: 1e-6)
        let coefficient: Float = 6.5 / (13 + 1e-6)
        XCTAssertEqual(a.grad.scalars[0], 3 * coefficient, accuracy: 1e-6)
        XCTAssertEqual(b.grad.scalars[0], 6, accuracy: 1e-5)
        XCTAssertEqual(frozen.grad.scalars, [100])
        let total = (a.grad.squaredNorm + b.grad.squaredNorm).squareRoot()
        XCTAssertEqual(total, 6.5, accuracy: 1e-5)
    }

    // MARK: ReduceLROnPlateau

    private func run(_ schedule: inout ReduceLROnPlateau, _ metrics: [Double], from lr: Float) -> [Float] {
        var lr = lr
        return metrics.map { lr = schedule.step($0, learningRate: lr); return lr }
    }

    private func assertRates(_ actual: [Float], _ expected: [Float], line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, line: line)
        for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: e * 1e-6, line: line) }
    }

    func testPlateauPatienceAndRelativeThreshold() throws {
        var s = try ReduceLROnPlateau(factor: 0.5, patience: 2)
        // 9 -> 9 is no improvement; 8.9995 is not below 9 * (1 - 1e-4) = 8.9991; 8.99 is.
        let rates = run(&s, [10, 9, 9, 9, 9, 8.9995, 8.99, 8.99, 8.99, 8.99], from: 1)
        assertRates(rates, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25])
        XCTAssertEqual(s.best, 8.99)
        XCTAssertEqual(s.epoch, 10)
    }

    func testPlateauCooldownAndMinimum() throws {
        var s = try ReduceLROnPlateau(factor: 0.1, patience: 0, cooldown: 2)
        assertRates(run(&s, Array(repeating: 5, count: 8), from: 1), [1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001])
        var floored = try ReduceLROnPlateau(factor: 0.1, patience: 0, cooldown: 2, minLearningRate: 0.05)
        assertRates(run(&floored, Array(repeating: 5, count: 8), from: 1), [1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
    }

    func testPlateauMaxModeAbsoluteThresholdAndNaN() throws {
        var s = try ReduceLROnPlateau(mode: .max, factor: 0.5, patience: 1, threshold: 0.01, thresholdMode: .absolute)
        // 0.805 is not above 0.8 + 0.01; NaN never improves.
        assertRates(run(&s, [0.7, 0.8, 0.805, .nan, 0.9, 0.9], from: 1), [1, 1, 1, 0.5, 0.5, 0.5])
        XCTAssertThrowsError(try ReduceLROnPlateau(factor: 1))
    }

    func testPlateauStateSurvivesJSON() throws {
        let metrics: [Double] = [3, 2, 2, 2, 1.5, 1.5, 1.5, 1.5]
        var straight = try ReduceLROnPlateau(factor: 0.5, patience: 1, cooldown: 1)
        let expected = run(&straight, metrics, from: 1)
        var first = try ReduceLROnPlateau(factor: 0.5, patience: 1, cooldown: 1)
        let head = run(&first, Array(metrics[..<3]), from: 1)
        var resumed = try JSONDecoder().decode(ReduceLROnPlateau.self, from: JSONEncoder().encode(first))
        XCTAssertEqual(resumed, first)
        let tail = run(&resumed, Array(metrics[3...]), from: head.last!)
        XCTAssertEqual(head + tail, expected)
        XCTAssert(expected.contains(0.25))
    }

    func testPlateauDrivesOptimizer() throws {
        let adam = try Adam(learningRate: 1e-3)
        var s = try ReduceLROnPlateau(patience: 0)
        XCTAssertFalse(s.step(1, optimizer: adam))
        XCTAssertTrue(s.step(1, optimizer: adam))
        XCTAssertEqual(adam.learningRate, 1e-4, accuracy: 1e-10)
    }
}
