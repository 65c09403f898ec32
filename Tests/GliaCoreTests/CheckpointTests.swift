import Foundation
import GliaCore
import GliaTestSupport
import XCTest

/// A tiny model: a 3x3 convolution (OHWI), a dense layer and BatchNorm-like buffers.
private final class TinyModel: Layer {
    let conv: Parameter
    let bias: Parameter
    let dense: Parameter
    let mean: Buffer
    let count: Buffer
    var extra: [Parameter] = []

    init(prefix: String = "", seed: UInt64, denseShape: [Int] = [3, 5]) {
        conv = Parameter(name: prefix + "conv.weight", value: GradientCheck.randomTensor([2, 3, 3, 4], seed: seed),
                         torchLayout: .convolutionOHWI)
        bias = Parameter(name: prefix + "conv.bias", value: GradientCheck.randomTensor([2], seed: seed + 1))
        dense = Parameter(name: prefix + "fc.weight", value: GradientCheck.randomTensor(denseShape, seed: seed + 2))
        mean = Buffer(name: prefix + "bn.running_mean", value: GradientCheck.randomTensor([2], seed: seed + 3))
        count = Buffer(name: prefix + "bn.num_batches_tracked", value: Tensor(shape: [1], scalars: [Float(seed)]),
                       isInteger: true)
    }

    var parameters: [Parameter] { [conv, bias, dense] + extra }
    var buffers: [Buffer] { [mean, count] }
}

final class CheckpointTests: XCTestCase {
    private func save(_ model: TinyModel, metadata: [String: String] = [:],
                      extras: [String: Tensor] = [:]) throws -> URL {
        let url = try SafeTensorsTestFiles.folder(for: self).appendingPathComponent("tiny.safetensors")
        try Checkpoint.save(model, to: url, metadata: metadata, extraTensors: extras)
        return url
    }

    private func problem(_ body: () throws -> Void) -> CheckpointProblem? {
        do { try body() } catch let error as CheckpointError { return error.problem } catch {
            XCTFail("unexpected error \(error)")
        }
        return nil
    }

    func testRoundTripRestoresEveryTensor() throws {
        let source = TinyModel(seed: 1)
        let optimizerState = ["fc.weight.exp_avg": Tensor(shape: [3, 5], repeating: 0.5)]
        let url = try save(source, metadata: ["config": "{\"kind\":\"tiny\"}"], extras: optimizerState)
        let target = TinyModel(seed: 100)
        let loaded = try Checkpoint.load(into: target, from: url)
        for (a, b) in zip(source.parameters, target.parameters) { XCTAssertEqual(a.value, b.value, a.name) }
        XCTAssertEqual(target.mean.value, source.mean.value)
        XCTAssertEqual(target.count.value.scalars, [1])
        XCTAssertEqual(loaded.metadata, ["config": "{\"kind\":\"tiny\"}"])
        XCTAssertEqual(loaded.extraTensors, optimizerState)
        XCTAssertEqual(Set(loaded.loadedNames), Set((source.parameters.map(\.name) + source.buffers.map(\.name))))
    }

    func testFileUsesPyTorchLayoutAndTypes() throws {
        let model = TinyModel(seed: 3)
        let file = try SafeTensorsFile(contentsOf: save(model))
        XCTAssertEqual(file.entries["conv.weight"]?.shape, [2, 4, 3, 3])  // OIHW
        XCTAssertEqual(file.entries["bn.num_batches_tracked"]?.dtype, .i64)
        XCTAssertEqual(file.entries["fc.weight"]?.dtype, .f32)
        let torch = try file.tensor(named: "conv.weight")
        // Glia (o, y, x, i) is PyTorch (o, i, y, x).
        for (o, y, x, i) in [(0, 0, 0, 0), (1, 2, 1, 3), (0, 1, 2, 2), (1, 0, 2, 1)] {
            XCTAssertEqual(torch[o, i, y, x], model.conv.value[o, y, x, i])
        }
        XCTAssertEqual(TorchLayout.convolutionOHWI.fromTorch(torch), model.conv.value)
    }

    func testMissingTensorIsAnErrorAndLeavesModelUntouched() throws {
        let url = try save(TinyModel(seed: 1))
        let target = TinyModel(seed: 2)
        target.extra = [Parameter(name: "head.weight", value: Tensor(shape: [2]))]
        let before = target.parameters.map(\.value)
        XCTAssertEqual(problem { try Checkpoint.load(into: target, from: url) }, .missingTensors(["head.weight"]))
        XCTAssertEqual(target.parameters.map(\.value), before)
        // Leaving the head out of the load makes it fit.
        try Checkpoint.load(into: target, from: url, options: .init(include: { !$0.hasPrefix("head.") }))
        XCTAssertEqual(target.conv.value, TinyModel(seed: 1).conv.value)
    }

    func testUnexpectedTensorsAreAnErrorUnlessAllowed() throws {
        let source = TinyModel(seed: 1)
        source.extra = [Parameter(name: "fc2.weight", value: Tensor(shape: [2]))]
        let url = try save(source)
        let target = TinyModel(seed: 2)
        XCTAssertEqual(problem { try Checkpoint.load(into: target, from: url) }, .unexpectedTensors(["fc2.weight"]))
        try Checkpoint.load(into: target, from: url, options: .init(allowUnexpected: true))
        XCTAssertEqual(target.dense.value, source.dense.value)
    }

    func testShapeMismatchNamesBothShapesInPyTorchLayout() throws {
        let url = try save(TinyModel(seed: 1))
        let target = TinyModel(seed: 2, denseShape: [5, 3])
        XCTAssertEqual(problem { try Checkpoint.load(into: target, from: url) },
                       .shapeMismatch(name: "fc.weight", file: [3, 5], model: [5, 3]))
        let error = CheckpointError(path: "m.safetensors", problem: .shapeMismatch(name: "fc.weight", file: [3, 5], model: [5, 3]))
        XCTAssertEqual(error.description, "m.safetensors: tensor \"fc.weight\" has shape [3, 5] in the file but [5, 3] in the model")
    }

    func testSourcePrefixLoadsASubModel() throws {
        let whole = TinyModel(prefix: "backbone.", seed: 4)
        let url = try save(whole)
        let backbone = TinyModel(seed: 5)
        try Checkpoint.load(into: backbone, from: url, options: .init(sourcePrefix: "backbone."))
        XCTAssertEqual(backbone.conv.value, whole.conv.value)
        XCTAssertEqual(problem { try Checkpoint.load(into: backbone, from: url) }.map { "\($0)".hasPrefix("missing 5") }, true)
    }

    func testScalarShapesZeroDAndOneAreInterchangeable() throws {
        let url = try SafeTensorsTestFiles.folder(for: self).appendingPathComponent("scalar.safetensors")
        let model = TinyModel(seed: 1)
        var records = model.parameters.map {
            SafeTensorsRecord(name: $0.name, tensor: $0.torchLayout.toTorch($0.value))
        }
        records.append(SafeTensorsRecord(name: "bn.running_mean", tensor: model.mean.value))
        records.append(SafeTensorsRecord(name: "bn.num_batches_tracked", tensor: Tensor(shape: [], scalars: [7]), dtype: .i64))
        try SafeTensorsWriter.write(records, to: url)
        let target = TinyModel(seed: 2)
        try Checkpoint.load(into: target, from: url)
        XCTAssertEqual(target.count.value.shape, [1])
        XCTAssertEqual(target.count.value.scalars, [7])
    }

    func testDuplicateModelNamesAreRejected() throws {
        let model = TinyModel(seed: 1)
        model.extra = [Parameter(name: "conv.bias", value: Tensor(shape: [2]))]
        let url = try SafeTensorsTestFiles.folder(for: self).appendingPathComponent("dup.safetensors")
        XCTAssertEqual(problem { try Checkpoint.save(model, to: url) }, .duplicateName("conv.bias"))
    }

    func testLoadsTorchvisionConvolutionFromParityFixture() throws {
        guard let dir = Fixtures.parity else { throw XCTSkip(Fixtures.skipMessage("GLIA_FIXTURES")) }
        final class Stem: Layer {
            let weight = Parameter(name: "conv1.weight", value: Tensor(shape: [64, 7, 7, 3]), torchLayout: .convolutionOHWI)
            let bnWeight = Parameter(name: "bn1.weight", value: Tensor(shape: [64]))
            let tracked = Buffer(name: "bn1.num_batches_tracked", value: Tensor(shape: [1]), isInteger: true)
            var parameters: [Parameter] { [weight, bnWeight] }
            var buffers: [Buffer] { [tracked] }
        }
        let url = dir.appendingPathComponent("resnet.safetensors")
        let stem = Stem()
        XCTAssertThrowsError(try Checkpoint.load(into: stem, from: url))  // the rest of the ResNet is unexpected
        try Checkpoint.load(into: stem, from: url, options: .init(allowUnexpected: true))
        let torch = try SafeTensorsFile(contentsOf: url).tensor(named: "conv1.weight")
        XCTAssertEqual(stem.weight.value[5, 6, 2, 1], torch[5, 1, 6, 2])
        XCTAssertEqual(stem.weight.value.squaredNorm, torch.squaredNorm, accuracy: 1e-9 * torch.squaredNorm)
        XCTAssertNotEqual(stem.bnWeight.value.squaredNorm, 0)
    }
}
