// Background predictions for triage and the browser: one task owns the loaded models (they are not Sendable, so no
// other thread ever touches them) and predicts slice after slice, always the one nearest the slice
// on screen that has no result yet. Results are shared through a lock; the viewer asks for the
// current slice and shows "predicting…" until it is there, so it never waits on inference.
//
// Memory: the per-slice numbers (probability, Dice, areas) are kept for every slice; the 256x256
// masks (64 KiB each) only for the `maskCapacity` slices nearest the focus. A slice whose mask was
// dropped is predicted again when the focus comes back near it.
//
// Where the classifier says no tumor, the segmenter's own mask (drawn dimmed, so a reader sees what
// the gate kept back) is computed for the slices near the focus only: a second segmenter pass for
// every slice would halve the speed at which the queue fills. A classifier that shares the
// segmenter's pass gives it for free, so then every slice has it.
import Foundation
import GliaCore
import GliaData
import GliaTraining
import Synchronization

/// A slice of a dataset: patient id and slice number.
public struct SliceKey: Hashable, Sendable, Comparable {
    /// Patient (volume) id.
    public var patient: String
    /// Slice number within the volume.
    public var slice: Int

    /// A key.
    public init(patient: String, slice: Int) {
        self.patient = patient
        self.slice = slice
    }

    /// Patient, then slice number.
    public static func < (a: SliceKey, b: SliceKey) -> Bool { (a.patient, a.slice) < (b.patient, b.slice) }
}

/// What the model pair said about one slice, compared with the ground truth.
public struct CachedPrediction: Sendable, Equatable {
    /// P(tumor) from the classifier.
    public var probability: Float?
    /// Whether the classifier flagged the slice (so the segmenter ran).
    public var flagged: Bool
    /// The predicted mask, while it is kept (nil when not segmented or dropped from the cache).
    public var mask: SliceMask?
    /// Predicted tumor pixels.
    public var predictedArea: Int
    /// Dice of prediction and ground truth (1 when both are empty); nil without a ground-truth mask.
    public var dice: Double?
    /// Ground-truth tumor pixels, nil when unknown.
    public var truthArea: Int?
    /// True when the mask was dropped to save memory and must be predicted again to be drawn.
    public var maskDropped = false
    /// On a slice the classifier did not flag: the segmenter's mask, while kept (nil when empty).
    public var unflaggedMask: SliceMask?
    /// Tumor pixels of `unflaggedMask`; nil when the segmenter did not run on the slice.
    public var unflaggedArea: Int?
    /// True when the segmenter could draw `unflaggedMask` but it is not (or no longer) kept: the
    /// slice is predicted again when the focus comes near it.
    public var unflaggedMaskPending = false

    /// A result; `maskDropped` and `unflaggedMaskPending` start false.
    public init(probability: Float?, flagged: Bool, mask: SliceMask?, predictedArea: Int, dice: Double?, truthArea: Int?,
                unflaggedMask: SliceMask? = nil, unflaggedArea: Int? = nil) {
        self.probability = probability
        self.flagged = flagged
        self.mask = mask
        self.predictedArea = predictedArea
        self.dice = dice
        self.truthArea = truthArea
        self.unflaggedMask = unflaggedMask
        self.unflaggedArea = unflaggedArea
    }

    /// How much the prediction disagrees with the truth, 0...1: the larger of 1 - Dice and the
    /// classifier's distance from the true label; nil without ground truth.
    public var disagreement: Double? {
        guard let truthArea else { return nil }
        let label = truthArea > 0 ? 1.0 : 0.0
        let classifier = probability.map { abs(Double($0) - label) } ?? 0
        return max(1 - (dice ?? 1), classifier)
    }
}

/// Predictions computed in the background, nearest the focus first, and cached.
public final class PredictionCache: Sendable {
    private struct State {
        var order: [SliceKey] = []
        var position: [SliceKey: Int] = [:]
        var focus = 0
        var results: [SliceKey: CachedPrediction] = [:]
        var withMask: Set<SliceKey> = []
        var failure: String?
        var ready = false
        var version = 0
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// Masks kept at most.
    public let maskCapacity: Int
    /// Slices either side of the focus whose masks are (re)computed; at most half the capacity, so
    /// re-predicting them never evicts one another.
    private var maskWindow: Int { min(8, (maskCapacity - 1) / 2) }

    /// Starts loading `classifier` and `segmenter` (run ids or files; either may be absent, not both)
    /// from `store` (only needed for run ids) and predicting the slices of `order` from `source`,
    /// nearest `focus` first.
    public init(classifier: String?, segmenter: String?, store: RunStore?, source: any SliceSource,
                order: [SliceKey], focus: Int, maskCapacity: Int = 48) {
        self.maskCapacity = max(1, maskCapacity)
        setOrder(order, focus: focus)
        // The task holds the cache weakly so dropping the cache ends the task (and frees the models).
        Self.running.withLock { $0.live += 1 }
        let work = Task.detached(priority: .userInitiated) { [weak self] in
            defer { PredictionCache.running.withLock { $0.live -= 1 } }
            let pipeline: TwoStagePipeline
            do {
                pipeline = try TwoStagePipeline(classifier: try classifier.map { try TrainedModel.load($0, store: store) },
                                                segmenter: try segmenter.map { try TrainedModel.load($0, store: store) })
            } catch {
                self?.state.withLock {
                    $0.failure = "cannot load the models: \(error)"
                    $0.version += 1
                }
                return
            }
            self?.state.withLock {
                $0.ready = true
                $0.version += 1
            }
            var neighbours = NeighbourContext()
            while !Task.isCancelled, let cache = self {
                guard let wanted = cache.nextWanted() else {
                    try? await Task.sleep(nanoseconds: 25_000_000)
                    continue
                }
                let result = PredictionCache.predict(wanted.key, pipeline: pipeline, source: source, neighbours: &neighbours,
                                                     segmentUnflagged: wanted.near || pipeline.sharesSegmenter)
                cache.save(result, for: wanted.key)
                await Task.yield()
            }
        }
        task.withLock { $0 = work }
        Self.running.withLock { $0.tasks.append(work) }
    }

    /// Every cache's background task, and how many are still running.
    private static let running = Mutex<(tasks: [Task<Void, Never>], live: Int)>(([], 0))

    /// Cancels every cache's background work and waits (at most `timeout` seconds) until none is
    /// mid-prediction. Call before the process exits: exiting while a prediction runs lets OpenBLAS's
    /// exit handler free buffers that the prediction thread is still using (a segfault at quit).
    public static func stopAll(timeout: Double = 10) {
        for t in running.withLock({ $0.tasks }) { t.cancel() }
        let deadline = Date().addingTimeInterval(timeout)
        while running.withLock({ $0.live }) > 0, Date() < deadline { usleep(5_000) }
    }

    deinit { task.withLock { $0 }?.cancel() }

    /// Stops predicting (the models are released when the task ends).
    public func cancel() { task.withLock { $0 }?.cancel() }

    /// Replaces the slice order (a new sort) and the focus within it.
    public func setOrder(_ order: [SliceKey], focus: Int) {
        state.withLock {
            $0.order = order
            $0.position = Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            $0.focus = focus
            $0.version += 1
        }
    }

    /// Moves the focus (the slice on screen) to `index` in the order.
    public func setFocus(_ index: Int) { state.withLock { $0.focus = index } }

    /// Moves the focus to `key` (for a reader that does not follow the order, like the browser);
    /// a key not in the order leaves the focus where it is.
    public func setFocus(_ key: SliceKey) {
        state.withLock { s in if let i = s.position[key] { s.focus = i } }
    }

    /// The cached result for `key`, if computed.
    public func prediction(for key: SliceKey) -> CachedPrediction? { state.withLock { $0.results[key] } }

    /// Every result computed so far (masks included only where kept).
    public var results: [SliceKey: CachedPrediction] { state.withLock { $0.results } }

    /// Changes whenever a result arrives or the models fail to load.
    public var version: Int { state.withLock { $0.version } }

    /// Why nothing will be predicted, if the models could not be loaded.
    public var failure: String? { state.withLock { $0.failure } }

    /// True once the models are loaded.
    public var isReady: Bool { state.withLock { $0.ready } }

    /// Slices with a result.
    public var computedCount: Int { state.withLock { $0.results.count } }

    /// The slice nearest the focus that has no result, or whose mask is missing while near the
    /// focus; `near`: whether it is that near (its unflagged mask is wanted too).
    private func nextWanted() -> (key: SliceKey, near: Bool)? {
        let window = maskWindow
        return state.withLock { s in
            let n = s.order.count
            guard n > 0 else { return nil }
            let focus = max(0, min(n - 1, s.focus))
            for distance in 0..<n {
                for index in distance == 0 ? [focus] : [focus + distance, focus - distance] where s.order.indices.contains(index) {
                    let key = s.order[index]
                    guard let r = s.results[key] else { return (key, distance <= window) }
                    if (r.maskDropped || r.unflaggedMaskPending) && distance <= window { return (key, true) }
                }
            }
            return nil
        }
    }

    private func save(_ result: CachedPrediction, for key: SliceKey) {
        state.withLock { s in
            s.results[key] = result
            s.version += 1
            guard result.mask != nil || result.unflaggedMask != nil else { return }
            s.withMask.insert(key)
            // Drop the mask farthest from the focus once over capacity.
            while s.withMask.count > maskCapacity {
                let focus = s.focus
                let position = s.position
                guard let far = s.withMask.max(by: { abs((position[$0] ?? 0) - focus) < abs((position[$1] ?? 0) - focus) }) else { break }
                s.withMask.remove(far)
                if s.results[far]?.mask != nil {
                    s.results[far]?.mask = nil
                    s.results[far]?.maskDropped = true
                }
                if s.results[far]?.unflaggedMask != nil {
                    s.results[far]?.unflaggedMask = nil
                    s.results[far]?.unflaggedMaskPending = true
                }
            }
        }
    }

    /// Predicts one slice (runs on the cache's task, which owns `pipeline`); a gate that reads
    /// neighbouring slices finds them in `neighbours`. With `segmentUnflagged` an unflagged slice
    /// gets the segmenter's own mask too.
    private static func predict(_ key: SliceKey, pipeline: TwoStagePipeline, source: any SliceSource,
                                neighbours: inout NeighbourContext, segmentUnflagged: Bool) -> CachedPrediction {
        guard let loaded = try? source.load(patient: key.patient, slice: key.slice), loaded.image.channels == 3 else {
            return CachedPrediction(probability: nil, flagged: false, mask: nil, predictedArea: 0, dice: nil, truthArea: nil)
        }
        let image = loaded.image
        let area = neighbours.neighbourArea(patient: key.patient, slice: key.slice, image: image, pipeline: pipeline) { n in
            try? source.load(patient: key.patient, slice: n).image
        }
        let p = pipeline.predict(TwoStagePipeline.batch([image]), neighbourAreas: [area], segmentUnflagged: segmentUnflagged)[0]
        if let e = p.evidence { neighbours.record(e, patient: key.patient, slice: key.slice) }
        let predicted = p.mask?.pixels ?? [UInt8](repeating: 0, count: image.width * image.height)
        let dice = loaded.truth.flatMap { truth in (try? MaskOverlap(predicted: predicted, truth: truth.pixels))?.dice }
        var result = CachedPrediction(probability: p.probability, flagged: p.flagged, mask: p.mask, predictedArea: p.mask?.area ?? 0,
                                      dice: dice, truthArea: loaded.truth?.area)
        if let unflagged = p.unflaggedMask {
            result.unflaggedArea = unflagged.area
            result.unflaggedMask = unflagged.area > 0 ? unflagged : nil
        } else {
            result.unflaggedMaskPending = !p.flagged && pipeline.segmenter != nil
        }
        return result
    }
}
