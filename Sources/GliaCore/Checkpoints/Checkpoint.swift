// Checkpoints: a Layer's parameters and buffers in a safetensors file under their PyTorch names.
//
// - Convolution weights are converted OHWI <-> OIHW on save and load, so files are interchangeable
//   with PyTorch's state_dicts (torchvision weights load directly); shapes are compared in PyTorch's
//   layout and messages show PyTorch shapes.
// - Integer buffers (num_batches_tracked) are stored as I64, everything else as F32.
// - Metadata is free-form strings (the model configuration JSON, run information).
// - Extra tensors (optimizer state and the like) are stored under the `extraPrefix` namespace so they
//   never collide with model names and are told apart on load.
// - Loading checks everything first and assigns only when the whole file fits, so a failed load leaves
//   the model as it was.
import Foundation

/// How `Checkpoint.load` matches file names to the model.
public struct CheckpointLoadOptions: Sendable {
    /// Ignore file tensors that match no model tensor (torchvision's `fc.*` when loading a backbone).
    public var allowUnexpected: Bool
    /// The model tensor `name` is read from the file name `sourcePrefix + name`; file names outside the
    /// prefix are ignored ("backbone." loads a backbone out of a whole-model checkpoint).
    public var sourcePrefix: String
    /// Which model tensors to load; the others are left untouched and not required. Nil loads all.
    public var include: (@Sendable (String) -> Bool)?
    /// File tensors (full file names) that may go unused even when `allowUnexpected` is false
    /// (torchvision's `fc.*`, which a backbone has no place for); every other unused one is an error.
    public var ignore: (@Sendable (String) -> Bool)?

    /// Options; the defaults demand an exact match of names and shapes.
    public init(allowUnexpected: Bool = false, sourcePrefix: String = "",
                include: (@Sendable (String) -> Bool)? = nil, ignore: (@Sendable (String) -> Bool)? = nil) {
        self.allowUnexpected = allowUnexpected
        self.sourcePrefix = sourcePrefix
        self.include = include
        self.ignore = ignore
    }
}

/// What a checkpoint carried besides the model tensors.
public struct LoadedCheckpoint: Sendable {
    /// The file's metadata strings.
    public var metadata: [String: String]
    /// Extra tensors by the names they were saved under (prefix removed), in stored layout.
    public var extraTensors: [String: Tensor]
    /// Model tensor names that were loaded.
    public var loadedNames: [String]
}

/// Why a checkpoint does not fit a model.
public enum CheckpointProblem: Equatable, Sendable, CustomStringConvertible {
    /// Model tensors with no counterpart in the file.
    case missingTensors([String])
    /// File tensors that match no model tensor.
    case unexpectedTensors([String])
    /// A tensor whose shape differs; both in PyTorch's layout.
    case shapeMismatch(name: String, file: [Int], model: [Int])
    /// Two model tensors share a name.
    case duplicateName(String)
    /// A tensor holding NaN or infinity (a diverged or damaged model).
    case nonFinite(name: String, count: Int)
    /// A tensor stored in a dtype that does not convert to the model's without changing its meaning
    /// (integers where floats belong, or the reverse).
    case wrongType(name: String, dtype: String, expected: String)

    public var description: String {
        switch self {
        case let .missingTensors(names): return "missing \(names.count) tensor(s): \(Self.list(names))"
        case let .unexpectedTensors(names): return "\(names.count) unexpected tensor(s): \(Self.list(names))"
        case let .shapeMismatch(name, file, model):
            return "tensor \"\(name)\" has shape \(file) in the file but \(model) in the model"
        case let .duplicateName(name): return "tensor name \"\(name)\" is used twice"
        case let .nonFinite(name, count): return "tensor \"\(name)\" holds \(count) NaN or infinite value(s)"
        case let .wrongType(name, dtype, expected):
            return "tensor \"\(name)\" is stored as \(dtype), but the model needs \(expected)"
        }
    }

    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(5).joined(separator: ", ")
        return names.count > 5 ? "\(shown) and \(names.count - 5) more" : shown
    }
}

/// A checkpoint that does not fit its model, naming the file.
public struct CheckpointError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The checkpoint's path.
    public var path: String
    /// What does not fit.
    public var problem: CheckpointProblem

    /// An error about the checkpoint at `path`.
    public init(path: String, problem: CheckpointProblem) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
    public var errorDescription: String? { description }
}

/// Saving and loading a Layer's state as safetensors.
public enum Checkpoint {
    /// Name prefix of extra tensors in the file.
    public static let extraPrefix = "__extra__."

    /// One named piece of model state, with how to read and write it.
    private struct Slot {
        let name: String
        let layout: TorchLayout
        let isInteger: Bool
        let get: () -> Tensor
        let set: (Tensor) -> Void
    }

    private static func slots(of layer: any Layer, path: String) throws -> [Slot] {
        var slots: [Slot] = []
        for p in layer.parameters {
            slots.append(Slot(name: p.name, layout: p.torchLayout, isInteger: false,
                              get: { p.value }, set: { p.value = $0 }))
        }
        for b in layer.buffers {
            slots.append(Slot(name: b.name, layout: .same, isInteger: b.isInteger,
                              get: { b.value }, set: { b.value = $0 }))
        }
        var seen = Set<String>()
        for s in slots where !seen.insert(s.name).inserted {
            throw CheckpointError(path: path, problem: .duplicateName(s.name))
        }
        return slots
    }

    /// Saves `layer`'s parameters and buffers (PyTorch layout), `metadata` and `extraTensors`
    /// (stored as they are, under `extraPrefix`) to `url`, atomically.
    public static func save(_ layer: any Layer, to url: URL, metadata: [String: String] = [:],
                            extraTensors: [String: Tensor] = [:]) throws {
        var records = try slots(of: layer, path: url.path).map { slot in
            SafeTensorsRecord(name: slot.name, tensor: slot.layout.toTorch(slot.get()),
                              dtype: slot.isInteger ? .i64 : .f32)
        }
        for (name, tensor) in extraTensors {
            records.append(SafeTensorsRecord(name: extraPrefix + name, tensor: tensor))
        }
        try SafeTensorsWriter.write(records, metadata: metadata, to: url)
    }

    /// Loads `layer`'s state from the file at `url`; see `load(into:from:options:)`.
    @discardableResult
    public static func load(into layer: any Layer, from url: URL,
                            options: CheckpointLoadOptions = CheckpointLoadOptions()) throws -> LoadedCheckpoint {
        try load(into: layer, from: SafeTensorsFile(contentsOf: url), options: options)
    }

    /// Loads `layer`'s parameters and buffers from an open file (read its metadata first to build the
    /// model, then load). Throws, leaving the model untouched, on missing or unexpected names, shape
    /// mismatches, dtypes of the wrong kind (only float <-> float conversions are made for
    /// parameters, integer <-> integer for integer buffers) and values that are NaN or infinite.
    @discardableResult
    public static func load(into layer: any Layer, from file: SafeTensorsFile,
                            options: CheckpointLoadOptions = CheckpointLoadOptions()) throws -> LoadedCheckpoint {
        func fail(_ problem: CheckpointProblem) -> CheckpointError { CheckpointError(path: file.path, problem: problem) }
        let modelSlots = try slots(of: layer, path: file.path)
        let modelNames = Set(modelSlots.map(\.name))
        let wanted = modelSlots.filter { options.include?($0.name) ?? true }

        let missing = wanted.map(\.name).filter { file.entries[options.sourcePrefix + $0] == nil }
        guard missing.isEmpty else { throw fail(.missingTensors(missing)) }
        if !options.allowUnexpected {
            let unexpected = file.names.filter { name in
                guard !name.hasPrefix(extraPrefix), name.hasPrefix(options.sourcePrefix) else { return false }
                guard options.ignore?(name) != true else { return false }
                return !modelNames.contains(String(name.dropFirst(options.sourcePrefix.count)))
            }
            guard unexpected.isEmpty else { throw fail(.unexpectedTensors(unexpected)) }
        }
        var values: [Tensor] = []
        for slot in wanted {
            let fileName = options.sourcePrefix + slot.name
            if let dtype = file.entries[fileName]?.dtype, dtype.isFloat == slot.isInteger {
                throw fail(.wrongType(name: fileName, dtype: dtype.rawValue,
                                      expected: slot.isInteger ? "an integer type" : "a float type (F32, F64, F16 or BF16)"))
            }
            var stored = try file.tensor(named: fileName)
            let nonFinite = stored.scalars.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            guard nonFinite == 0 else { throw fail(.nonFinite(name: fileName, count: nonFinite)) }
            let modelShape = slot.layout.torchShape(slot.get().shape)
            if stored.count == 1, modelShape.reduce(1, *) == 1, stored.rank <= 1, modelShape.count <= 1 {
                stored.reshape(modelShape)  // PyTorch 0-d scalars and [1] tensors are interchangeable
            }
            guard stored.shape == modelShape else {
                throw fail(.shapeMismatch(name: fileName, file: stored.shape, model: modelShape))
            }
            values.append(slot.layout.fromTorch(stored))
        }
        for (slot, value) in zip(wanted, values) { slot.set(value) }

        var extras: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix(extraPrefix) {
            extras[String(name.dropFirst(extraPrefix.count))] = try file.tensor(named: name)
        }
        return LoadedCheckpoint(metadata: file.metadata, extraTensors: extras, loadedNames: wanted.map(\.name))
    }
}
