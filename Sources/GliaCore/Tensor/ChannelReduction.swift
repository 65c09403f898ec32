// Per-channel reductions over NHWC activations viewed as a [rows, channels] matrix (rows = N*H*W).
//
// Accuracy: BatchNorm statistics and bias gradients sum up to millions of values per channel. A plain
// float running sum drifts by ~1e-4 relative there (see the parity README), so sums are taken in
// float over short blocks of rows (exact enough: at most `blockRows` terms) and the block results are
// added in double. Each worker owns its own double accumulators; they are combined at the end in a
// fixed order, so the result does not depend on thread timing.

/// Rows summed in float before a block result is added into the double accumulators.
public let channelReductionBlockRows = 32

/// Runs `body(rowRange, accumulators)` over disjoint row ranges covering `0..<rows`, each with its own
/// zeroed `width` doubles, and returns their element-wise total.
public func reduceRows(rows: Int, width: Int,
                       _ body: (Range<Int>, UnsafeMutablePointer<Double>) -> Void) -> [Double] {
    let parts = max(1, min(ParallelConfig.workerCount, rows * width / 65536))
    var partials = [Double](repeating: 0, count: parts * width)
    partials.withUnsafeMutableBufferPointer { buffer in
        let base = buffer.baseAddress!
        let perPart = (rows + parts - 1) / parts
        parallelFor(parts, minimumChunk: 1) { range in
            for part in range {
                let lo = min(rows, part * perPart), hi = min(rows, lo + perPart)
                if lo < hi { body(lo..<hi, base + part * width) }
            }
        }
    }
    var total = [Double](repeating: 0, count: width)
    for part in 0..<parts { for i in 0..<width { total[i] += partials[part * width + i] } }
    return total
}

/// Per-channel sums of a `[rows, channels]` matrix: `sum[c] = Σ_r x[r, c]`.
public func channelSums(_ x: UnsafePointer<Float>, rows: Int, channels: Int) -> [Double] {
    reduceRows(rows: rows, width: channels) { range, acc in
        var block = [Float](repeating: 0, count: channels)
        block.withUnsafeMutableBufferPointer { block in
            var r0 = range.lowerBound
            while r0 < range.upperBound {
                let r1 = min(range.upperBound, r0 + channelReductionBlockRows)
                block.update(repeating: 0)
                for r in r0..<r1 {
                    let row = x + r * channels
                    for ch in 0..<channels { block[ch] += row[ch] }
                }
                for ch in 0..<channels { acc[ch] += Double(block[ch]) }
                r0 = r1
            }
        }
    }
}
