// Softmax cross-entropy on logits, the slice classifier's loss (PyTorch's nn.CrossEntropyLoss with
// reduction "mean").
//
// Layout: logits [N, K] row-major (one row per sample), labels N integers in 0..<K.
//
// Forward, per row n with label c, in double through a stable log-sum-exp:
//   m = max_k z_k,  lse = m + ln(sum_k exp(z_k - m)),  loss_n = lse - z_c
//   L = (1/N) sum_n loss_n
// Backward:
//   dL/dz_nk = (softmax(z_n)_k - [k == c]) / N,  softmax(z_n)_k = exp(z_k - lse)
import Foundation

/// Mean softmax cross-entropy between logits [N, K] and integer class labels.
public struct SoftmaxCrossEntropy: Sendable {
    /// A cross-entropy loss (no options: mean reduction, no label smoothing, no class weights).
    public init() {}

    /// Mean cross-entropy and dL/dlogits for `logits` [N, K] and `labels` (N values in 0..<K).
    public func evaluate(logits: Tensor, labels: [Int]) throws -> LossResult {
        guard logits.rank == 2, logits.shape[0] == labels.count, labels.count > 0, logits.shape[1] > 0 else {
            throw LossError.labelCountMismatch(logits: logits.shape, labels: labels.count)
        }
        let (n, k) = (logits.shape[0], logits.shape[1])
        for (i, c) in labels.enumerated() where c < 0 || c >= k {
            throw LossError.labelOutOfRange(label: c, index: i, classes: k)
        }
        var gradient = Tensor(shape: logits.shape)
        var total = 0.0
        let invN = 1.0 / Double(n)
        logits.scalars.withUnsafeBufferPointer { z in
            gradient.scalars.withUnsafeMutableBufferPointer { g in
                for row in 0..<n {
                    let base = row * k
                    var m = -Double.infinity
                    for j in 0..<k { m = max(m, Double(z[base + j])) }
                    var sum = 0.0
                    for j in 0..<k { sum += exp(Double(z[base + j]) - m) }
                    let lse = m + log(sum)
                    let c = labels[row]
                    total += lse - Double(z[base + c])
                    for j in 0..<k {
                        let softmax = exp(Double(z[base + j]) - lse)
                        g[base + j] = Float((softmax - (j == c ? 1 : 0)) * invN)
                    }
                }
            }
        }
        return LossResult(value: Float(total * invN), gradient: gradient)
    }
}
