// Inference: trained models loaded from checkpoints, and the two-stage pipeline (the classifier flags
// slices, the segmenter draws masks only on flagged ones). The CLI (eval, predict) and the
// workstation (triage) all predict through here.
//
// Inputs are NHWC batches at 256x256 scaled to [0,1] (the loader's unitRange normalisation). A model
// trained at a smaller size sees area-averaged images; its mask probabilities come back to 256x256 by
// bilinear interpolation, so the 0.5 threshold is taken at full resolution on a smooth surface rather
// than on blocks.
import Foundation
import GliaCore
import GliaData

/// A model loaded from a checkpoint, with the input size it was trained at.
public struct TrainedModel {
    public let model: any Model
    /// Side of the square input the model was trained on.
    public let imageSize: Int
    /// The run id or file it came from, for reports.
    public let source: String
    /// Classifier: the decision threshold on P(tumor) chosen on validation patients and stored with
    /// the model (metadata `glia.threshold`); nil when the file stores none.
    public var threshold: Float?
    /// Classifier: the gate threshold of the two-stage pipeline, chosen on validation patients for
    /// the pipeline's per-volume Dice (metadata `glia.gateThreshold`); nil when the file stores none.
    public var gateThreshold: Float?

    /// Segmenter: the test-time augmentation chosen on validation patients (metadata `glia.tta`).
    public var testTimeAugmentation: TestTimeAugmentation?
    /// Segmenter: the volume post-processing chosen on validation patients (metadata `glia.postprocess`).
    public var postprocessing: VolumePostprocessing?

    /// Metadata keys of the stored thresholds and inference settings.
    public static let thresholdKey = "glia.threshold"
    public static let gateThresholdKey = "glia.gateThreshold"
    public static let testTimeAugmentationKey = "glia.tta"
    public static let postprocessingKey = "glia.postprocess"

    /// Loads `reference`: a `.safetensors` file, or a run id (or unique prefix) in `store`, whose
    /// `best` checkpoint is used (`last` when no epoch finished).
    public static func load(_ reference: String, store: RunStore?) throws -> TrainedModel {
        let url = try checkpointURL(reference, store: store)
        let (model, loaded) = try Checkpoint.loadModel(from: url)
        let size = try inputSize(of: model, metadata: loaded.metadata, path: url.path)
        func threshold(_ key: String) throws -> Float? {
            guard let text = loaded.metadata[key] else { return nil }
            guard let value = Float(text), value.isFinite, value >= 0, value <= 1 else {
                throw TrainingDataError("\(url.path): metadata \(key) = '\(text)' is not a probability in [0, 1]")
            }
            return value
        }
        func setting<T: RawRepresentable<String> & CaseIterable>(_ key: String, _ type: T.Type) throws -> T? {
            guard let text = loaded.metadata[key] else { return nil }
            guard let value = T(rawValue: text) else {
                let known = T.allCases.map(\.rawValue).joined(separator: ", ")
                throw TrainingDataError("\(url.path): metadata \(key) = '\(text)' is not one of \(known)")
            }
            return value
        }
        return TrainedModel(model: model, imageSize: size, source: reference,
                            threshold: try threshold(thresholdKey), gateThreshold: try threshold(gateThresholdKey),
                            testTimeAugmentation: try setting(testTimeAugmentationKey, TestTimeAugmentation.self),
                            postprocessing: try setting(postprocessingKey, VolumePostprocessing.self))
    }

    /// The side of the square input `model` runs at. A classifier's configuration fixes it (its head's
    /// width depends on it), so that is used, and a run configuration saying otherwise is an error; a
    /// segmenter fits any multiple of its size step, so the size its run trained at is used, else 256.
    /// Either way it must divide the 256 px slices the pipeline reduces to it and fit the model.
    static func inputSize(of model: any Model, metadata: [String: String], path: String) throws -> Int {
        let recorded = try? TrainingCheckpoint.runConfiguration(metadata: metadata, path: path).imageSize
        let side = TIFFImage.sliceSide
        var size = recorded ?? side
        if let classifier = model as? ClassifierModel {
            size = classifier.classifierConfiguration.imageSize
            if let recorded, recorded != size {
                throw TrainingDataError("\(path): the run says \(recorded) px, but the classifier is built for \(size) px")
            }
        }
        guard size > 0, size <= side, side % size == 0 else {
            throw TrainingDataError("\(path): input size \(size) px must divide the \(side) px slices")
        }
        do {
            try model.checkInput(shape: [1, size, size, 3])
        } catch let error as ModelInputError {
            throw TrainingDataError("\(path): \(size) px RGB slices do not fit the model: \(error.requirement)")
        }
        return size
    }

    /// Whether `reference` names a checkpoint file (a `.safetensors` name or an existing path) rather
    /// than a run id.
    public static func isCheckpointFile(_ reference: String) -> Bool {
        reference.hasSuffix(".safetensors") || FileManager.default.fileExists(atPath: reference)
    }

    /// The checkpoint file `reference` names: the file itself, or a run's `best` (else `last`).
    public static func checkpointURL(_ reference: String, store: RunStore?) throws -> URL {
        let url: URL
        if isCheckpointFile(reference) {
            url = URL(fileURLWithPath: reference)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw TrainingDataError("no such checkpoint file: \(url.path)")
            }
        } else {
            guard let store else { throw TrainingDataError("no workspace to look up run '\(reference)' in") }
            let folder = store.folder(for: try store.run(matching: reference).id)
            let best = folder.appendingPathComponent("best.safetensors")
            url = FileManager.default.fileExists(atPath: best.path) ? best : folder.appendingPathComponent("last.safetensors")
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw TrainingDataError("run '\(reference)' has no checkpoint yet (\(folder.path))")
            }
        }
        return url
    }

    /// The model's input: `images` (256x256) reduced to `imageSize` by area averaging.
    func input(_ images: Tensor) -> Tensor {
        areaDownsample(images, toSide: imageSize)
    }
}

/// Test-time augmentation of the segmenter.
public enum TestTimeAugmentation: String, Codable, Sendable, CaseIterable {
    /// The image alone.
    case none
    /// The mean of the prediction and the left-right flipped prediction of the flipped image.
    case flip
}

/// Classifier probabilities and segmenter masks for batches of slices.
public struct TwoStagePipeline {
    public let classifier: TrainedModel?
    public let segmenter: TrainedModel?
    /// The classifier calls a slice tumor when P(tumor) >= threshold (its stored threshold, else 0.5).
    public var threshold: Float
    /// The pipeline segments a slice when P(tumor) >= gateThreshold (stored, else `threshold`).
    public var gateThreshold: Float
    /// Test-time augmentation: mask probabilities are the mean of the prediction on the image and the
    /// left-right flipped prediction on the left-right flipped image (twice the segmenter's cost).
    public var flipTestTimeAugmentation: Bool
    /// How evaluation post-processes a patient's predicted volume (the segmenter's stored choice).
    public var postprocessing: VolumePostprocessing

    public init(classifier: TrainedModel?, segmenter: TrainedModel?) throws {
        if let c = classifier, !(c.model is ClassifierModel || c.model is MaskGate) {
            throw TrainingDataError("\(c.source) is not a classifier checkpoint")
        }
        if let s = segmenter, !(s.model is ResUNet) {
            throw TrainingDataError("\(s.source) is not a segmenter checkpoint")
        }
        self.classifier = classifier
        self.segmenter = segmenter
        threshold = classifier?.threshold ?? 0.5
        gateThreshold = classifier?.gateThreshold ?? classifier?.threshold ?? 0.5
        flipTestTimeAugmentation = segmenter?.testTimeAugmentation == .flip
        postprocessing = segmenter?.postprocessing ?? .none
        sharesSegmenter = Self.shares(classifier, segmenter)
    }

    /// True when the classifier is a MaskGate over exactly the segmenter's weights at its input
    /// size (the shipped pair): one ResUNet pass then serves both stages.
    public let sharesSegmenter: Bool

    private static func shares(_ classifier: TrainedModel?, _ segmenter: TrainedModel?) -> Bool {
        guard let classifier, let segmenter, classifier.imageSize == segmenter.imageSize,
              let gate = classifier.model as? MaskGate, let resunet = segmenter.model as? ResUNet,
              gate.gateConfiguration.segmenter == resunet.resUNetConfiguration else { return false }
        return zip(gate.segmenter.parameters, resunet.parameters).allSatisfy { $0.value == $1.value }
            && zip(gate.segmenter.buffers, resunet.buffers).allSatisfy { $0.value == $1.value }
    }

    /// Slices on either side whose masks the classifier reads (a MaskGate's reach; else 0).
    public var neighbourReach: Int { (classifier?.model as? MaskGate)?.gateConfiguration.neighbourReach ?? 0 }

    /// P(tumor) and mask probabilities of a batch, as `tumorProbabilities` and `maskProbabilities`
    /// give them, with the shared ResUNet run once when `sharesSegmenter`. A MaskGate classifier also
    /// gives each slice's evidence: its P(tumor) here is of the slice seen alone, and
    /// `tumorProbabilities(evidence:neighbourAreas:)` gives the one with its neighbours.
    public func stages(_ images: Tensor) -> (probabilities: [Float]?, masks: Tensor?, evidence: [MaskEvidence]?) {
        let raw = sharesSegmenter ? segmenter.map { $0.model.forward($0.input(images), mode: .inference) } : nil
        guard let gate = gatePass(images, raw: raw) else {
            return (tumorProbabilities(images), maskProbabilities(images), nil)
        }
        return (gate.probabilities, maskProbabilities(images, raw: raw), gate.evidence)
    }

    /// A MaskGate classifier's pass: each slice's evidence and P(tumor) read alone; `raw`: the
    /// shared segmenter's output on `images`, when already computed. Nil for other classifiers.
    public func gatePass(_ images: Tensor, raw: Tensor? = nil) -> (probabilities: [Float], evidence: [MaskEvidence])? {
        guard let classifier, let gate = classifier.model as? MaskGate else { return nil }
        let evidence = MaskEvidence.of(masks: raw ?? gate.segmenter.forward(classifier.input(images), mode: .inference))
        return (tumorProbabilities(evidence: evidence, neighbourAreas: evidence.map { _ in nil })!, evidence)
    }

    /// A MaskGate's P(tumor) from each slice's evidence and its neighbours' area
    /// (`MaskEvidence.neighbourArea`; nil: no neighbour known); nil unless the classifier is a MaskGate.
    public func tumorProbabilities(evidence: [MaskEvidence], neighbourAreas: [Float?]) -> [Float]? {
        guard let gate = classifier?.model as? MaskGate else { return nil }
        return Self.softmaxTumor(gate.forwardHead(gate.features(evidence: evidence, neighbourAreas: neighbourAreas),
                                                  mode: .inference))
    }

    /// A MaskGate's P(tumor) for each slice of one volume (evidence by slice number), each read with
    /// its neighbours; nil unless the classifier is a MaskGate.
    public func tumorProbabilities(volume: [Int: MaskEvidence]) -> [Int: Float]? {
        let numbers = volume.keys.sorted()
        let reach = neighbourReach
        guard let p = tumorProbabilities(
            evidence: numbers.map { volume[$0]! },
            neighbourAreas: numbers.map { MaskEvidence.neighbourArea(of: $0, in: volume, reach: reach) }) else { return nil }
        return Dictionary(uniqueKeysWithValues: zip(numbers, p))
    }

    /// P(tumor) per image (softmax of the classifier's logits), or nil without a classifier.
    public func tumorProbabilities(_ images: Tensor) -> [Float]? {
        guard let classifier else { return nil }
        return Self.softmaxTumor(classifier.model.forward(classifier.input(images), mode: .inference))
    }

    /// P(tumor) per row of classifier logits [N, K]: the softmax weight of class 1.
    public static func softmaxTumor(_ logits: Tensor) -> [Float] {
        let k = logits.shape[1]
        return (0..<logits.shape[0]).map { i in
            let row = logits.scalars[(i * k)..<((i + 1) * k)]
            let m = row.max()!
            let e = row.map { Foundation.exp(Double($0 - m)) }
            return Float(e[1] / e.reduce(0, +))
        }
    }

    /// Tumor probability per pixel [N, 256, 256, 1], or nil without a segmenter. `raw`: the
    /// segmenter's output on `images` when already computed.
    public func maskProbabilities(_ images: Tensor, raw: Tensor? = nil) -> Tensor? {
        guard let segmenter else { return nil }
        /// An NHWC tensor mirrored left to right (along W).
        func flipLeftRight(_ x: Tensor) -> Tensor {
            let (n, h, w, c) = x.nhwc
            var out = Tensor(shape: x.shape)
            x.scalars.withUnsafeBufferPointer { src in
                out.scalars.withUnsafeMutableBufferPointer { dst in
                    for row in 0..<(n * h) { for xx in 0..<w { for ch in 0..<c {
                        dst[(row * w + xx) * c + ch] = src[(row * w + (w - 1 - xx)) * c + ch]
                    } } }
                }
            }
            return out
        }
        let input = segmenter.input(images)
        var p = raw ?? segmenter.model.forward(input, mode: .inference)
        if flipTestTimeAugmentation {
            // Flipping the model's input equals flipping the 256 px image first: area averaging
            // commutes with a left-right flip.
            let mirrored = flipLeftRight(segmenter.model.forward(flipLeftRight(input), mode: .inference))
            for k in p.scalars.indices { p.scalars[k] = (p.scalars[k] + mirrored.scalars[k]) / 2 }
        }
        return Self.upsampleBilinear(p, to: images.shape[1])
    }

    /// Bilinear interpolation of an NHWC tensor to `side` x `side`, with PyTorch's
    /// `F.interpolate(mode="bilinear", align_corners=False)` convention: output pixel centres map to
    /// source coordinates (i + 0.5) * in / out - 0.5, clamped at 0 below and at the last pixel above.
    public static func upsampleBilinear(_ x: Tensor, to side: Int) -> Tensor {
        let (n, h, w, c) = x.nhwc
        guard h != side || w != side else { return x }
        /// For each output index: the two source indices and the weight of the second.
        func taps(_ input: Int) -> [(Int, Int, Float)] {
            let scale = Float(input) / Float(side)
            return (0..<side).map { i in
                let source = max((Float(i) + 0.5) * scale - 0.5, 0)
                let low = min(Int(source), input - 1)
                return (low, min(low + 1, input - 1), source - Float(low))
            }
        }
        let rows = taps(h), columns = taps(w)
        var out = Tensor(shape: [n, side, side, c])
        x.scalars.withUnsafeBufferPointer { src in
            out.scalars.withUnsafeMutableBufferPointer { dst in
                for b in 0..<n { for (y, (y0, y1, wy)) in rows.enumerated() { for (xx, (x0, x1, wx)) in columns.enumerated() {
                    for ch in 0..<c {
                        func at(_ sy: Int, _ sx: Int) -> Float { src[((b * h + sy) * w + sx) * c + ch] }
                        let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * wx
                        let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * wx
                        dst[((b * side + y) * side + xx) * c + ch] = top + (bottom - top) * wy
                    }
                } } }
            }
        }
        return out
    }
}

/// What the pipeline says about one slice.
public struct SlicePrediction: Sendable {
    /// P(tumor) from the classifier, if one ran.
    public var probability: Float?
    /// Whether the pipeline segments this slice (flagged, or no classifier).
    public var flagged: Bool
    /// The binary mask (256x256) when segmented.
    public var mask: SliceMask?
    /// The segmenter's mask of a slice the classifier did not flag, when asked for
    /// (`predict(_:neighbourAreas:segmentUnflagged:)`): what the gate kept from the reader.
    public var unflaggedMask: SliceMask?
    /// A MaskGate classifier's evidence of the slice (what its neighbours read).
    public var evidence: MaskEvidence?
}

extension TwoStagePipeline {
    /// Runs both stages on a batch: masks only for flagged slices (all slices without a classifier).
    /// `neighbourAreas`: for a MaskGate that reads neighbours, each slice's neighbour area
    /// (`MaskEvidence.neighbourArea`); without them every slice is read alone. With
    /// `segmentUnflagged` the other slices are segmented too, into `unflaggedMask` (free when the
    /// classifier shares the segmenter's pass).
    public func predict(_ images: Tensor, neighbourAreas: [Float?]? = nil, segmentUnflagged: Bool = false) -> [SlicePrediction] {
        let n = images.shape[0]
        // The shared pass computes every slice's mask anyway; otherwise only flagged slices are segmented.
        let shared = sharesSegmenter ? stages(images) : nil
        let gate = shared == nil ? gatePass(images, raw: nil) : nil
        let evidence = shared?.evidence ?? gate?.evidence
        var probabilities = shared?.probabilities ?? gate?.probabilities ?? tumorProbabilities(images)
        if let evidence, let neighbourAreas {
            probabilities = tumorProbabilities(evidence: evidence, neighbourAreas: neighbourAreas)
        }
        let flagged = (0..<n).map { i in probabilities.map { $0[i] >= gateThreshold } ?? true }
        var masks = [SliceMask?](repeating: nil, count: n)
        let chosen = (0..<n).filter { flagged[$0] || segmentUnflagged }
        if segmenter != nil, !chosen.isEmpty {
            let side = images.shape[1]
            let per = side * side * images.shape[3]
            let p: Tensor, rows: [Int]
            if let all = shared?.masks {
                (p, rows) = (all, chosen)
            } else {
                let subset = Tensor(shape: [chosen.count, side, side, images.shape[3]],
                                    scalars: chosen.flatMap { images.scalars[($0 * per)..<(($0 + 1) * per)] })
                (p, rows) = (maskProbabilities(subset)!, Array(chosen.indices))
            }
            for (k, i) in zip(rows, chosen) {
                let pixels = p.scalars[(k * side * side)..<((k + 1) * side * side)].map { $0 > 0.5 ? UInt8(1) : 0 }
                masks[i] = SliceMask(width: side, height: side, pixels: pixels)
            }
        }
        return (0..<n).map {
            SlicePrediction(probability: probabilities?[$0], flagged: flagged[$0], mask: flagged[$0] ? masks[$0] : nil,
                            unflaggedMask: flagged[$0] ? nil : masks[$0], evidence: evidence?[$0])
        }
    }
}
