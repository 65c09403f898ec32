import Foundation
import GliaTraining
import XCTest

final class ProgressFormatterTests: XCTestCase {
    func testProgressLineShowsCountsMetricAndETAFromStepTimes() {
        var f = ProgressFormatter(recipe: .segmenter, epochs: 2)
        let t0 = Date(timeIntervalSince1970: 0)
        func step(_ n: Int) -> StepMetrics {
            StepMetrics(epoch: 1, step: n, stepsPerEpoch: 10, globalStep: n, loss: 0.5, metric: 0.25,
                        imagesPerSecond: 8, learningRate: 1e-3)
        }
        XCTAssertEqual(f.progressLine(for: step(1), now: t0),
                       "epoch 1/2  step 1/10  loss 0.5000  dice 0.250  8.0 img/s  ETA --")
        // 2 s per step, 18 steps left after step 2 of epoch 1 of 2.
        XCTAssertEqual(f.progressLine(for: step(2), now: t0 + 2),
                       "epoch 1/2  step 2/10  loss 0.5000  dice 0.250  8.0 img/s  ETA 36s")
    }

    func testLogLines() {
        let f = ProgressFormatter(recipe: .classifier, epochs: 5)
        XCTAssertNil(f.logLine(for: .step(StepMetrics(epoch: 1, step: 1, stepsPerEpoch: 1, globalStep: 1, loss: 1,
                                                      metric: 1, imagesPerSecond: 1, learningRate: 1))))
        let e = EpochMetrics(epoch: 2, trainLoss: 0.3, trainMetric: 0.9, validationLoss: 0.25, validationMetric: 0.95,
                             learningRate: 0.001, seconds: 125, isBest: true)
        XCTAssertEqual(f.logLine(for: .epoch(e)),
                       "epoch 2/5  train loss 0.3000 acc 0.900  val loss 0.2500 acc 0.950  lr 0.001  2m05s  (best)")
        XCTAssertEqual(f.logLine(for: .failed(message: "boom")), "failed: boom")
        XCTAssertEqual(ProgressFormatter.duration(3725), "1h02m")
    }
}
