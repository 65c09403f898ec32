// Finite-difference checks of a layer's backward, shared by the layer tests.
//
// L = Σ y·r for a fixed random r, so dL/dy = r is what backward receives. Every parameter and the
// input are probed (up to GradientCheck's index limit) and compared by relative L2 error.
import GliaCore
import GliaTestSupport
import XCTest

/// Relative-error bound: float32 forwards with epsilon 1e-2 land around 1e-4; a wrong formula lands
/// near 1.
let gradientTolerance = 5e-3

/// Checks `backward`'s dL/dx (when it returns one) and every parameter gradient against central
/// differences of `forward`. Parameter gradients are zeroed first.
func assertGradients(input: Tensor, parameters: [Parameter],
                     forward: (Tensor) -> Tensor, backward: (Tensor) -> Tensor?,
                     seed: UInt64 = 99, file: StaticString = #filePath, line: UInt = #line) {
    let y = forward(input)
    let r = GradientCheck.randomTensor(y.shape, seed: seed)
    for p in parameters { p.grad.zero() }
    let dx = backward(r)
    if let dx {
        XCTAssertEqual(dx.shape, input.shape, "dx shape", file: file, line: line)
        var x = input
        let indices = GradientCheck.probeIndices(count: x.count)
        let numeric = GradientCheck.numericGradient(
            indices: indices, get: { x.scalars[$0] }, set: { x.scalars[$0] = $1 },
            loss: { GradientCheck.projection(forward(x), r) })
        assertClose(indices.map { dx.scalars[$0] }, numeric, "dL/dx", file: file, line: line)
    }
    for p in parameters {
        let analytic = p.grad
        let indices = GradientCheck.probeIndices(count: p.value.count)
        let numeric = GradientCheck.numericGradient(
            indices: indices, get: { p.value.scalars[$0] }, set: { p.value.scalars[$0] = $1 },
            loss: { GradientCheck.projection(forward(input), r) })
        assertClose(indices.map { analytic.scalars[$0] }, numeric, "dL/d\(p.name)", file: file, line: line)
    }
}

/// Asserts a small relative error and that the gradient is not trivially zero.
func assertClose(_ analytic: [Float], _ numeric: [Double], _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let error = GradientCheck.relativeError(analytic: analytic, numeric: numeric)
    let norm = numeric.map { $0 * $0 }.reduce(0, +).squareRoot()
    XCTAssertGreaterThan(norm, 1e-3, "\(what): numeric gradient is ~0, the check would prove nothing",
                         file: file, line: line)
    XCTAssertLessThan(error, gradientTolerance, "\(what): relative error \(error)", file: file, line: line)
}

/// Largest absolute elementwise difference between two same-shaped tensors.
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
}
