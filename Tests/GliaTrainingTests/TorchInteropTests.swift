// Glia <-> PyTorch (glia-torch/): 2-process gloo torchruns of each recipe on a phantom set (the
// segmenter with its weight average, the MaskGate on the shipped segmenter, a ResNet classifier)
// write files that Glia loads as it loads its own, with the run configuration and thresholds Glia
// reads, and whose forward matches PyTorch's on a fixed batch; Glia checkpoints
// (the shipped segmenter and MaskGate, a ResNet classifier) load into the PyTorch modules, give the
// same outputs there and come back tensor for tensor. Tolerances are the parity fixtures' (ResUNet
// output 5e-5, ResNet logits 5e-6, max abs). Skips, saying why, where the PyTorch venv is missing.
import Foundation
import GliaCore
import GliaData
import GliaTestSupport
import GliaTraining
import XCTest

final class TorchInteropTests: XCTestCase {
    private var folder: URL!
    private static let models = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Models")

    override func setUpWithError() throws {
        if let reason = TorchEnvironment.unavailableReason() {
            print("TorchInteropTests skipped: \(reason)")
            throw XCTSkip(reason)
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-torch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func testTwoProcessTorchrunWritesAFileGliaLoadsAndRunsAsPyTorchDoes() throws {
        let data = folder.appendingPathComponent("phantom")
        _ = try Phantom.write(to: data, configuration: Phantom.Configuration(patients: 4, slices: 6...6, seed: 5))
        let out = folder.appendingPathComponent("run")
        func train(epochs: Int, resume: Bool) throws {
            let run = try torchPython(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                           "-m", "glia_torch.train", "--data", data.path, "--out", out.path,
                                           "--epochs", "\(epochs)", "--max-steps-per-epoch", "2", "--batch-size", "2",
                                           "--image-size", "64", "--workers", "0", "--backend", "gloo",
                                           "--weight-average", "0.998"]
                                          + (resume ? ["--resume"] : []))
            XCTAssertEqual(run.status, 0, "torchrun failed:\n\(run.output)\n\(run.errors.suffix(3000))")
        }
        try train(epochs: 1, resume: false)
        // A second run resumes from last.pt: epoch 2 only, appended to the first one's history.
        try train(epochs: 2, resume: true)
        let history = try String(contentsOf: out.appendingPathComponent("history.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(history.map { $0?["epoch"] as? Int }, [1, 2])
        XCTAssertEqual(history.map { $0?["world_size"] as? Int }, [2, 2])
        XCTAssertEqual(history.compactMap { $0?["val_dice_unaveraged"] as? Double }.count, 2,
                       "the trained weights' Dice beside the averaged ones' every epoch")
        // The files hold the moving average of the weights, not the trained weights last.pt resumes.
        let differences = try torchPython(["-c", """
            import sys, torch
            from safetensors.torch import load_file
            state = torch.load(sys.argv[1], weights_only=False)["session"]
            saved = load_file(sys.argv[2])
            def gap(values):
                return max(float((saved[k].double() - values[k].double().reshape(saved[k].shape)).abs().max()) for k in saved)
            print(gap(state["average"]["values"]), gap(state["model"]))
            """, out.appendingPathComponent("last.pt").path, out.appendingPathComponent("last.safetensors").path])
        XCTAssertEqual(differences.status, 0, differences.errors)
        let gaps = differences.output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(gaps.count, 2, differences.output)
        XCTAssertEqual(gaps.first, 0, "last.safetensors is the weight average")
        XCTAssertGreaterThan(gaps.last ?? 0, 0, "and differs from the trained weights")
        let file = out.appendingPathComponent("model.safetensors")
        let trained = try TrainedModel.load(file.path, store: nil)
        XCTAssertTrue(trained.model is ResUNet)
        XCTAssertEqual(trained.imageSize, 64, "glia.run's imageSize sets Glia's input size")
        let metadata = try SafeTensorsFile(contentsOf: file).metadata
        XCTAssertEqual(metadata["glia.torch.worldSize"], "2", "both processes trained")
        XCTAssertNotNil(metadata["glia.torch.epoch"])
        let run = try TrainingCheckpoint.runConfiguration(metadata: metadata, path: file.path)
        XCTAssertEqual(run.recipe, .segmenter)
        XCTAssertEqual(run.weightAverage, 0.998, "the averaging asked for is recorded")
        // Training forwards moved the BatchNorm running statistics off a fresh model's.
        let fresh = try ResUNet(configuration: .standard, seed: 1)
        XCTAssertNotEqual(trained.model.buffers.first?.value, fresh.buffers.first?.value)

        let x = try Self.phantomBatch(data, side: 64, count: 2)
        let torch = try forwardInPyTorch(file, x).y
        let glia = TorchLayout.convolutionOHWI.toTorch(trained.model.forward(x, mode: .inference))
        XCTAssertLessThanOrEqual(ParityMetric.maxAbs(glia, torch), 5e-5, "ResUNet output, Glia vs PyTorch")
    }

    func testTwoProcessTorchrunTrainsTheMaskGateThatGliaEvaluates() throws {
        let data = folder.appendingPathComponent("phantom")
        _ = try Phantom.write(to: data, configuration: Phantom.Configuration(patients: 4, slices: 6...6, seed: 5))
        // A copy of the shipped segmenter, away from Models/split.json (whose patients are not the phantom's).
        let segmenter = folder.appendingPathComponent("segmenter.safetensors")
        try FileManager.default.copyItem(at: Self.models.appendingPathComponent("segmenter.safetensors"), to: segmenter)
        let out = folder.appendingPathComponent("gate")
        let run = try torchPython(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                   "-m", "glia_torch.train", "classifier", "--segmenter", segmenter.path,
                                   "--data", data.path, "--out", out.path, "--epochs", "2", "--batch-size", "2",
                                   "--workers", "0", "--backend", "gloo"])
        XCTAssertEqual(run.status, 0, "torchrun failed:\n\(run.output)\n\(run.errors.suffix(3000))")
        let history = try String(contentsOf: out.appendingPathComponent("history.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(history.map { $0?["world_size"] as? Int }, [2, 2])
        XCTAssertEqual(history.compactMap { $0?["gate_threshold"] as? Double }.count, 2, "a gate threshold every epoch")

        let file = out.appendingPathComponent("model.safetensors")
        let trained = try TrainedModel.load(file.path, store: nil)
        let gate = try XCTUnwrap(trained.model as? MaskGate)
        XCTAssertEqual(gate.gateConfiguration.neighbourReach, 2, "Glia's default reach")
        XCTAssertEqual(trained.imageSize, 128, "the gate runs at its segmenter's size")
        let threshold = try XCTUnwrap(trained.threshold), gateThreshold = try XCTUnwrap(trained.gateThreshold)
        XCTAssertNotEqual(gate.weight.value.scalars, [1, 1, 0], "the gate trained")
        let configuration = try TrainingCheckpoint.runConfiguration(metadata: try SafeTensorsFile(contentsOf: file).metadata,
                                                                    path: file.path)
        XCTAssertEqual(configuration.recipe, .classifier)
        XCTAssertEqual(configuration.backbone, ClassifierSession.segmenterBackbone)
        XCTAssertEqual(configuration.learningRate, 0.05)
        XCTAssertFalse(configuration.augment)
        XCTAssertEqual(configuration.segmenterPath, segmenter.path)

        try assertGateForwardMatches(gate, file: file, x: try Self.phantomBatch(data, side: 128, count: 4))
        // The stored decision threshold is what Glia's own rule picks from Glia's scores of the run's
        // validation patients, each slice read with its neighbours (so the gate's inputs match too).
        let split = try DatasetSplit.read(from: out.appendingPathComponent("split.json"))
        let index = try DatasetIndex.load(data)
        let pipeline = try TwoStagePipeline(classifier: trained, segmenter: nil)
        var scores: [Float] = [], labels: [Int] = []
        for id in split.patients(.validation) {
            let slices = try XCTUnwrap(index.patient(id)).slices.filter(\.isUsable)
            var pixels: [Float] = []
            for slice in slices {
                pixels += Normalization.unitRange.apply(try TIFFImage.readImage(slice.imageURL).value)
                labels.append(try TIFFImage.readMask(try XCTUnwrap(slice.maskURL)).value.pixels.contains { $0 != 0 } ? 1 : 0)
            }
            let side = TIFFImage.sliceSide
            let evidence = try XCTUnwrap(pipeline.gatePass(Tensor(shape: [slices.count, side, side, 3], scalars: pixels))).evidence
            let volume = Dictionary(uniqueKeysWithValues: zip(slices.map(\.sliceNumber), evidence))
            let p = try XCTUnwrap(pipeline.tumorProbabilities(volume: volume))
            scores += slices.map { p[$0.sliceNumber]! }
        }
        XCTAssertFalse(scores.isEmpty)
        XCTAssertEqual(ThresholdChoice.decision(scores: scores, labels: labels), threshold, accuracy: 1e-5,
                       "Glia's rule on Glia's validation scores")
        // glia eval takes the pair as it is, with the stored thresholds.
        let eval = try GliaProcess.run(["eval", "--classifier", file.path, "--segmenter", segmenter.path,
                                        "--data", data.path, "--json"],
                                       environment: ["GLIA_WORKSPACE": folder.appendingPathComponent("workspace").path])
        XCTAssertEqual(eval.status, 0, eval.errors)
        let report = try JSONDecoder().decode(EvaluationReport.self, from: Data(eval.output.utf8))
        XCTAssertEqual(report.slices, 24)
        XCTAssertEqual(report.classifier?.threshold, threshold)
        XCTAssertEqual(report.pipeline?.gateThreshold, gateThreshold)
    }

    func testTwoProcessTorchrunTrainsAResNetClassifierGliaRunsAsPyTorchDoes() throws {
        let data = folder.appendingPathComponent("phantom")
        _ = try Phantom.write(to: data, configuration: Phantom.Configuration(patients: 4, slices: 6...6, seed: 5))
        let out = folder.appendingPathComponent("resnet")
        let run = try torchPython(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                   "-m", "glia_torch.train", "classifier", "--backbone", "resnet10", "--image-size", "128",
                                   "--data", data.path, "--out", out.path, "--epochs", "1", "--max-steps-per-epoch", "2",
                                   "--batch-size", "2", "--workers", "0", "--backend", "gloo"])
        XCTAssertEqual(run.status, 0, "torchrun failed:\n\(run.output)\n\(run.errors.suffix(3000))")
        let file = out.appendingPathComponent("model.safetensors")
        let trained = try TrainedModel.load(file.path, store: nil)
        let model = try XCTUnwrap(trained.model as? ClassifierModel)
        XCTAssertEqual(trained.imageSize, 128)
        XCTAssertNotNil(trained.threshold, "the decision threshold chosen on validation")
        XCTAssertNil(trained.gateThreshold, "no segmenter, no gate threshold")
        let configuration = try TrainingCheckpoint.runConfiguration(metadata: try SafeTensorsFile(contentsOf: file).metadata,
                                                                    path: file.path)
        XCTAssertEqual([configuration.backbone, configuration.schedule.rawValue], ["resnet10", "plateau"])
        let x = try Self.phantomBatch(data, side: 128, count: 2)
        let torch = try forwardInPyTorch(file, x).y
        XCTAssertLessThanOrEqual(ParityMetric.maxAbs(model.forward(x, mode: .inference), torch), 5e-6, "ResNet logits")
    }

    func testShippedSegmenterRoundTripsThroughPyTorch() throws {
        let source = Self.models.appendingPathComponent("segmenter.safetensors")
        let (model, _) = try Checkpoint.loadModel(from: source)
        let x = try Self.phantomBatch(nil, side: 128, count: 2)
        let torch = try forwardInPyTorch(source, x, resave: true)
        let glia = TorchLayout.convolutionOHWI.toTorch(model.forward(x, mode: .inference))
        XCTAssertLessThanOrEqual(ParityMetric.maxAbs(glia, torch.y), 5e-5)
        try assertSameFile(torch.resaved, source)
    }

    func testShippedMaskGateRoundTripsThroughPyTorch() throws {
        let source = Self.models.appendingPathComponent("classifier.safetensors")
        let (loaded, _) = try Checkpoint.loadModel(from: source)
        let gate = try XCTUnwrap(loaded as? MaskGate)
        let resaved = try assertGateForwardMatches(gate, file: source, x: try Self.phantomBatch(nil, side: 128, count: 4),
                                                   resave: true)
        try assertSameFile(resaved, source)
    }

    func testResNetClassifierCheckpointRoundTripsThroughPyTorch() throws {
        let configuration = ClassifierConfiguration(backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]),
                                                    imageSize: 64, poolSize: 2)
        let model = try ClassifierModel(configuration: configuration, seed: 3)
        // A training forward moves the running statistics off their initial 0 / 1, so eval mode
        // exercises them on both sides.
        _ = model.forward(try Self.phantomBatch(nil, side: 64, count: 4), mode: .training)
        let source = folder.appendingPathComponent("classifier.safetensors")
        try Checkpoint.saveModel(model, to: source, metadata: ["glia.note": "round trip"])
        let x = try Self.phantomBatch(nil, side: 64, count: 2)
        let torch = try forwardInPyTorch(source, x, resave: true)
        XCTAssertLessThanOrEqual(ParityMetric.maxAbs(model.forward(x, mode: .inference), torch.y), 5e-6)
        try assertSameFile(torch.resaved, source)
    }

    func testPyTorchRejectsAFileWithAMissingTensorInOneLine() throws {
        let (model, _) = try Checkpoint.loadModel(from: Self.models.appendingPathComponent("segmenter.safetensors"))
        let records = model.parameters.dropFirst().map {
            SafeTensorsRecord(name: $0.name, tensor: $0.torchLayout.toTorch($0.value))
        } + model.buffers.map { SafeTensorsRecord(name: $0.name, tensor: $0.value, dtype: $0.isInteger ? .i64 : .f32) }
        let broken = folder.appendingPathComponent("broken.safetensors")
        try SafeTensorsWriter.write(records, metadata: model.configuration.metadata, to: broken)
        let x = folder.appendingPathComponent("x.safetensors")
        try SafeTensorsWriter.write([SafeTensorsRecord(name: "x", tensor: Tensor(shape: [1, 3, 16, 16]))], to: x)
        let result = try torchPython(["-m", "glia_torch.forward", "--model", broken.path, "--input", x.path,
                                          "--output", folder.appendingPathComponent("y.safetensors").path])
        XCTAssertEqual(result.status, 2)
        let message = result.errors.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(message.contains("\n"), message)
        XCTAssertTrue(message.contains(broken.path) && message.contains("missing 1 tensor(s): \(model.parameters[0].name)"), message)
    }

    // MARK: - helpers

    /// Runs the glia-torch interpreter with one thread per process (CI has two cores), capturing both streams.
    private func torchPython(_ arguments: [String]) throws -> GliaProcess.Result {
        try GliaProcess.run(program: TorchEnvironment.interpreter(), arguments,
                            environment: ["OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"])
    }

    /// What glia_torch.forward wrote: the eval output `y` (PyTorch layout), a MaskGate's features
    /// and the path of the model it saved back.
    private struct TorchForward {
        var y: Tensor
        var features: Tensor?
        var resaved: URL
    }

    /// Runs glia_torch.forward on NHWC `x`.
    private func forwardInPyTorch(_ model: URL, _ x: Tensor, resave: Bool = false) throws -> TorchForward {
        let input = folder.appendingPathComponent("input.safetensors")
        let output = folder.appendingPathComponent("output.safetensors")
        let copy = folder.appendingPathComponent("resaved-\(model.lastPathComponent)")
        try SafeTensorsWriter.write([SafeTensorsRecord(name: "x", tensor: TorchLayout.convolutionOHWI.toTorch(x))], to: input)
        let result = try torchPython(["-m", "glia_torch.forward", "--model", model.path, "--input", input.path,
                                          "--output", output.path] + (resave ? ["--resave", copy.path] : []))
        XCTAssertEqual(result.status, 0, result.errors)
        let file = try SafeTensorsFile(contentsOf: output)
        return TorchForward(y: try file.tensor(named: "y"),
                            features: file.entries["features"] == nil ? nil : try file.tensor(named: "features"),
                            resaved: copy)
    }

    /// Compares a MaskGate's features and logits with glia_torch.forward's on NHWC `x` (each slice read
    /// alone, as the PyTorch forward reads it); returns the path of the resaved copy.
    @discardableResult
    private func assertGateForwardMatches(_ gate: MaskGate, file: URL, x: Tensor, resave: Bool = false,
                                          line: UInt = #line) throws -> URL {
        let n = x.shape[0]
        let torch = try forwardInPyTorch(file, x, resave: resave)
        let torchLogits = torch.y, torchFeatures = try XCTUnwrap(torch.features)
        let masks = gate.segmenter.forward(x, mode: .inference)
        let evidence = MaskEvidence.of(masks: masks)
        let features = Tensor(shape: [n, 2], scalars: evidence.flatMap { [$0.logArea, $0.peak] })
        let logits = gate.forwardHead(gate.features(evidence: evidence, neighbourAreas: evidence.map { _ in nil }),
                                      mode: .inference)
        let side = masks.count / n
        var compared = 0
        for i in 0..<n {
            // A probability within float noise of 0.5 may fall on either side in the two codes and
            // move the area feature; such slices are compared on the peak alone.
            let nearThreshold = masks.scalars[(i * side)..<((i + 1) * side)].contains { abs($0 - 0.5) < 1e-4 }
            XCTAssertEqual(features.scalars[i * 2 + 1], torchFeatures.scalars[i * 2 + 1], accuracy: 5e-5, "peak, slice \(i)", line: line)
            guard !nearThreshold else { continue }
            compared += 1
            XCTAssertEqual(features.scalars[i * 2], torchFeatures.scalars[i * 2], accuracy: 1e-6, "area feature, slice \(i)", line: line)
            XCTAssertEqual(logits.scalars[i * 2 + 1], torchLogits.scalars[i * 2 + 1], accuracy: 5e-5, "logit, slice \(i)", line: line)
        }
        XCTAssertGreaterThan(compared, 0, "every slice had a probability at 0.5; the check proved nothing", line: line)
        return torch.resaved
    }

    /// The same tensor names, dtypes and values, and the same metadata, in both files.
    private func assertSameFile(_ copy: URL, _ original: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try SafeTensorsFile(contentsOf: copy), b = try SafeTensorsFile(contentsOf: original)
        XCTAssertEqual(a.names, b.names, file: file, line: line)
        XCTAssertEqual(a.metadata, b.metadata, file: file, line: line)
        for name in b.names {
            XCTAssertEqual(a.entries[name]?.dtype, b.entries[name]?.dtype, name, file: file, line: line)
            XCTAssertEqual(try a.tensor(named: name), try b.tensor(named: name), name, file: file, line: line)
        }
        XCTAssertNoThrow(try Checkpoint.loadModel(from: copy), file: file, line: line)
    }

    /// `count` phantom slices (from `data`, else a fresh 1-patient phantom), [0, 1], area-averaged
    /// to `side` as Glia feeds a model trained at that size: NHWC [count, side, side, 3].
    private static func phantomBatch(_ data: URL?, side: Int, count: Int) throws -> Tensor {
        var root = data
        if root == nil {
            let made = FileManager.default.temporaryDirectory.appendingPathComponent("glia-torch-batch-\(UUID().uuidString)")
            _ = try Phantom.write(to: made, configuration: Phantom.Configuration(patients: 1, slices: 12...12, seed: 9))
            root = made
        }
        defer { if data == nil, let root { try? FileManager.default.removeItem(at: root) } }
        let index = try DatasetIndex.load(try XCTUnwrap(root))
        // Middle slices hold brain (and tumor), the first ones are mostly background.
        let slices = Array(index.usableSlices.dropFirst(index.usableSlices.count / 3).prefix(count))
        let full = TIFFImage.sliceSide
        var scalars: [Float] = []
        for slice in slices { scalars += Normalization.unitRange.apply(try TIFFImage.readImage(slice.imageURL).value) }
        let x = Tensor(shape: [slices.count, full, full, 3], scalars: scalars)
        return full == side ? x : AvgPool2D(kernelSize: full / side).forward(x, mode: .inference)
    }
}
