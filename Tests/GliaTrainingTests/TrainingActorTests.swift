import Foundation
import GliaTraining
import Synchronization
import XCTest

/// What a scripted session did, readable by the test while the actor owns the session.
private final class Recorder: Sendable {
    private let state = Mutex<(steps: Int, saved: [(url: URL, progress: TrainingProgress)])>((0, []))
    var stepsRun: Int { state.withLock { $0.steps } }
    var saved: [(url: URL, progress: TrainingProgress)] { state.withLock { $0.saved } }
    func countStep() -> Int { state.withLock { s in defer { s.steps += 1 }; return s.steps } }
    func save(_ url: URL, _ progress: TrainingProgress) { state.withLock { $0.saved.append((url, progress)) } }
}

/// A recipe whose loss follows a script, so the actor's policy can be tested without a model.
private final class ScriptedSession: RecipeSession {
    var selection: CheckpointSelection { .lowestLoss }
    let stepsPerEpoch: Int
    var learningRate: Float = 0.1
    let losses: [Float]
    var validationLosses: [Float]
    let recorder: Recorder
    let onStep: @Sendable (Int) -> Void

    init(stepsPerEpoch: Int, losses: [Float], validationLosses: [Float], recorder: Recorder,
         onStep: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.stepsPerEpoch = stepsPerEpoch
        self.losses = losses
        self.validationLosses = validationLosses
        self.recorder = recorder
        self.onStep = onStep
    }

    func trainStep(epoch: Int, step: Int) throws -> StepResult {
        let n = recorder.countStep()
        onStep(n)
        return StepResult(loss: losses[n % losses.count], metric: 0.5, images: 4)
    }
    func validate() throws -> ValidationResult { ValidationResult(loss: validationLosses.removeFirst(), metric: 0.7) }
    func endEpoch(validationLoss: Float) { learningRate *= 0.5 }
    var parametersAreFinite: Bool { true }
    func saveCheckpoint(to url: URL, progress: TrainingProgress) throws { recorder.save(url, progress) }
}

final class TrainingActorTests: XCTestCase {
    private func configuration(epochs: Int, patience: Int = 10) -> RunConfiguration {
        var c = RunConfiguration.defaults(for: .segmenter, dataPath: "/phantom")
        c.epochs = epochs
        c.patience = patience
        return c
    }

    private func collect(_ stream: AsyncStream<TrainingEvent>) async -> [TrainingEvent] {
        var events: [TrainingEvent] = []
        for await e in stream { events.append(e) }
        return events
    }

    func testSubscribersSeeTheSameEventsInOrder() async throws {
        let recorder = Recorder()
        let scripted = ScriptedSession(stepsPerEpoch: 3, losses: [1, 0.8, 0.6], validationLosses: [0.9, 0.7], recorder: recorder)
        let actor = TrainingActor(runID: "r1", configuration: configuration(epochs: 2),
                                  folder: URL(fileURLWithPath: "/tmp/r1"), session: scripted)
        let first = await actor.subscribe()
        let second = await actor.subscribe()
        let status = await actor.run()
        XCTAssertEqual(status, .finished)
        let a = await collect(first), b = await collect(second)
        XCTAssertEqual(a, b)
        let late = await collect(await actor.subscribe())
        XCTAssertEqual(late, a, "a late subscriber replays the whole run")

        let kinds = a.map { event -> String in
            switch event {
            case .runStarted: return "start"
            case .step(let s): return "s\(s.epoch).\(s.step)"
            case .epoch(let e): return "e\(e.epoch)\(e.isBest ? "*" : "")"
            case .checkpointSaved(let k, _, let epoch): return "\(k.rawValue)\(epoch)"
            case .finished(let status, let best, _): return "end-\(status.rawValue)-\(best ?? 0)"
            default: return "\(event)"
            }
        }
        XCTAssertEqual(kinds, ["start", "s1.1", "s1.2", "s1.3", "e1*", "best1", "last1",
                               "s2.1", "s2.2", "s2.3", "e2*", "best2", "last2", "end-finished-2"])
        guard case .epoch(let e1) = a[4] else { return XCTFail("expected epoch event") }
        XCTAssertEqual(e1.trainLoss, 0.8, accuracy: 1e-6)
        XCTAssertEqual(e1.learningRate, 0.1)
        XCTAssertEqual(recorder.saved.last?.progress.epoch, 3)
    }

    func testNonFiniteLossFailsWithoutCheckpoint() async throws {
        let recorder = Recorder()
        let scripted = ScriptedSession(stepsPerEpoch: 4, losses: [1, .nan], validationLosses: [1], recorder: recorder)
        let actor = TrainingActor(runID: "r", configuration: configuration(epochs: 1),
                                  folder: URL(fileURLWithPath: "/tmp/r"), session: scripted)
        let stream = await actor.subscribe()
        let status = await actor.run()
        XCTAssertEqual(status, .failed)
        let events = await collect(stream)
        guard case .failed(let message) = events.last else { return XCTFail("no failed event: \(events)") }
        XCTAssert(message.contains("nan") && message.contains("step 2"), message)
        XCTAssert(recorder.saved.isEmpty, "no checkpoint after a NaN")
        XCTAssertFalse(events.contains { if case .checkpointSaved = $0 { return true } else { return false } })
    }

    func testEarlyStoppingAfterPatienceEpochsWithoutImprovement() async throws {
        let recorder = Recorder()
        let scripted = ScriptedSession(stepsPerEpoch: 1, losses: [1], validationLosses: [0.5, 0.6, 0.7, 0.4, 0.3], recorder: recorder)
        let actor = TrainingActor(runID: "r", configuration: configuration(epochs: 5, patience: 2),
                                  folder: URL(fileURLWithPath: "/tmp/r"), session: scripted)
        let stream = await actor.subscribe()
        let status = await actor.run()
        XCTAssertEqual(status, .earlyStopped)
        let events = await collect(stream)
        XCTAssert(events.contains(.earlyStopped(epoch: 3, bestEpoch: 1)), "\(events)")
        XCTAssertEqual(recorder.stepsRun, 3)
    }

    func testEpochTimeLeavesOutThePause() async throws {
        let box = Mutex<TrainingActor?>(nil)
        let recorder = Recorder()
        let scripted = ScriptedSession(stepsPerEpoch: 4, losses: [1], validationLosses: [1], recorder: recorder) { n in
            if n == 1 { box.withLock { $0 }?.pause() }
        }
        let actor = TrainingActor(runID: "r", configuration: configuration(epochs: 1),
                                  folder: URL(fileURLWithPath: "/tmp/r"), session: scripted)
        box.withLock { $0 = actor }
        let stream = await actor.subscribe()
        let running = Task { await actor.run() }
        var seconds: Double?
        for await event in stream {
            if event == .paused {
                try await Task.sleep(nanoseconds: 600_000_000)
                actor.resume()
            }
            if case .epoch(let e) = event { seconds = e.seconds }
        }
        _ = await running.value
        let epoch = try XCTUnwrap(seconds)
        XCTAssertLessThan(epoch, 0.3, "four scripted steps take milliseconds; the 0.6 s pause is not epoch time")
    }

    func testStopSavesLastAfterCurrentStepAndPauseHolds() async throws {
        let box = Mutex<TrainingActor?>(nil)
        let recorder = Recorder()
        let scripted = ScriptedSession(stepsPerEpoch: 100, losses: [1], validationLosses: [1], recorder: recorder) { n in
            if n == 2 { box.withLock { $0 }?.pause() }
        }
        let actor = TrainingActor(runID: "r", configuration: configuration(epochs: 1),
                                  folder: URL(fileURLWithPath: "/tmp/r"), session: scripted)
        box.withLock { $0 = actor }
        let stream = await actor.subscribe()
        let running = Task { await actor.run() }
        var sawPause = false
        for await event in stream {
            if event == .paused {
                sawPause = true
                let before = recorder.stepsRun
                try await Task.sleep(nanoseconds: 100_000_000)
                XCTAssertEqual(recorder.stepsRun, before, "no steps while paused")
                actor.stop()
            }
        }
        let status = await running.value
        XCTAssert(sawPause)
        XCTAssertEqual(status, .stopped)
        XCTAssertEqual(recorder.stepsRun, 3)
        XCTAssertEqual(recorder.saved.count, 1)
        XCTAssertEqual(recorder.saved[0].url.lastPathComponent, "last.safetensors")
        XCTAssertEqual(recorder.saved[0].progress.stepInEpoch, 3)
    }
}
