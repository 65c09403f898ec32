// Optimizers: the protocol, its errors and the shared state bookkeeping.
//
// Semantics follow torch.optim so that PyTorch recipes carry over number for number:
// - `step` updates every non-frozen parameter from its accumulated `grad` and leaves the gradients as
//   they are; call `zeroGradients` (PyTorch's zero_grad) before the next backward pass.
// - Per-parameter state is keyed by parameter name, so a model rebuilt from a checkpoint (new
//   Parameter objects, same names) continues with the same state. Exported as named tensors
//   "<param name>.<slot>" with PyTorch's slot names (exp_avg, exp_avg_sq, step, momentum_buffer),
//   plus "lr" for the current learning rate (schedules change it, PyTorch keeps it in param_groups).
import Foundation

/// A first-order optimizer over a list of parameters.
public protocol Optimizer: AnyObject {
    /// The step size; schedules such as `ReduceLROnPlateau` lower it.
    var learningRate: Float { get set }
    /// Updates every non-frozen parameter from its gradient.
    func step(_ parameters: [Parameter])
    /// The optimizer's state for `parameters` as named tensors ("<param>.<slot>" and "lr").
    func stateTensors(for parameters: [Parameter]) -> [String: Tensor]
    /// Replaces the state with one exported by `stateTensors`; throws on unknown names, incomplete
    /// slots or shapes that do not match the parameters, leaving the current state untouched.
    func loadState(_ tensors: [String: Tensor], for parameters: [Parameter]) throws
}

extension Optimizer {
    /// Zeroes the gradients of `parameters` (PyTorch's `optimizer.zero_grad()`).
    public func zeroGradients(_ parameters: [Parameter]) {
        for p in parameters { p.grad.zero() }
    }
}

/// Why an optimizer or schedule cannot be built or restored.
public enum OptimizerError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// A hyperparameter outside its valid range.
    case invalidHyperparameter(name: String, value: Double, expected: String)
    /// A state tensor for no known parameter slot.
    case unexpectedState(String)
    /// A parameter has some of its state slots but not all.
    case incompleteState(parameter: String, missing: String)
    /// A state tensor's shape differs from its parameter's.
    case stateShapeMismatch(name: String, state: [Int], parameter: [Int])

    public var description: String {
        switch self {
        case let .invalidHyperparameter(name, value, expected): return "invalid \(name) \(value): expected \(expected)"
        case let .unexpectedState(name): return "optimizer state \"\(name)\" matches no parameter"
        case let .incompleteState(parameter, missing):
            return "optimizer state of \"\(parameter)\" lacks \"\(missing)\""
        case let .stateShapeMismatch(name, state, parameter):
            return "optimizer state \"\(name)\" has shape \(state) but its parameter has \(parameter)"
        }
    }

    public var errorDescription: String? { description }
}

/// Throws unless `condition` holds for a hyperparameter.
func require(_ condition: Bool, _ name: String, _ value: Double, _ expected: String) throws {
    guard condition else { throw OptimizerError.invalidHyperparameter(name: name, value: value, expected: expected) }
}

/// Reads per-parameter state slots out of named tensors, checking names and shapes.
struct StateReader {
    let tensors: [String: Tensor]
    private(set) var used: Set<String> = ["lr"]

    init(_ tensors: [String: Tensor]) { self.tensors = tensors }

    /// The slots of `parameter` (all present, shapes checked) or nil when it has none of them.
    /// Slots listed in `scalar` hold one number instead of the parameter's shape.
    mutating func slots(_ names: [String], scalar: Set<String> = [], of parameter: Parameter) throws -> [String: Tensor]? {
        let present = names.filter { tensors["\(parameter.name).\($0)"] != nil }
        if present.isEmpty { return nil }
        var out: [String: Tensor] = [:]
        for slot in names {
            let key = "\(parameter.name).\(slot)"
            guard let t = tensors[key] else { throw OptimizerError.incompleteState(parameter: parameter.name, missing: key) }
            let ok = scalar.contains(slot) ? t.count == 1 : t.shape == parameter.value.shape
            guard ok else {
                throw OptimizerError.stateShapeMismatch(name: key, state: t.shape,
                                                        parameter: scalar.contains(slot) ? [1] : parameter.value.shape)
            }
            used.insert(key)
            out[slot] = t
        }
        return out
    }

    /// Throws for any tensor that no slot read.
    func checkAllUsed() throws {
        if let stray = tensors.keys.sorted().first(where: { !used.contains($0) }) {
            throw OptimizerError.unexpectedState(stray)
        }
    }

    /// The saved learning rate, if any.
    var learningRate: Float? { tensors["lr"]?.scalars.first }
}
