// Per-channel reductions over NHWC activations viewed as a [rows, channels] matrix (rows = N*H*W).
//
// Accuracy: BatchNorm statistics and bias gradients sum up to millions of values per channel. A plain
// float running sum drifts by ~1e-4 relative there (see the parity README), so sums are taken in
// float over short blocks of rows (exact enough: at most `blockRows` terms) and the block results are
// added in double. Each worker owns its own double accumulators; they are combined at the end in a
// fixed order, so the result does not depend on thread timing.

/// Rows summed in float before a block result is added into the double accumulators.
public let channelReductionBlockRows = 32

/// Sums `width` per-row quantities over `0..<rows`: `body(rowRange, block)` adds the rows of a range of
/// at most `channelReductionBlockRows` rows into the zeroed float `block`, and each block is then added
/// into double accumulators (one set per worker, combined in a fixed order). Returns the totals.
public func reduceRows(rows: Int, width: Int,
                       _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Double] {
    let parts = max(1, min(ParallelConfig.workerCount, rows * width / 65536))
    var partials = [Double](repeating: 0, count: parts * width)
    partials.withUnsafeMutableBufferPointer { buffer in
        let base = buffer.baseAddress!
        let perPart = (rows + parts - 1) / parts
        parallelFor(parts, minimumChunk: 1) { range in
            let block = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { block.deallocate() }
            for part in range {
                let acc = base + part * width
                var r0 = min(rows, part * perPart)
                let end = min(rows, r0 + perPart)
                while r0 < end {
                    let r1 = min(end, r0 + channelReductionBlockRows)
                    block.update(repeating: 0, count: width)
                    body(r0..<r1, block)
                    for i in 0..<width { acc[i] += Double(block[i]) }
                    r0 = r1
                }
            }
        }
    }
    var total = [Double](repeating: 0, count: width)
    for part in 0..<parts { for i in 0..<width { total[i] += partials[part * width + i] } }
    return total
}

/// Per-channel sums of a `[rows, channels]` matrix: `sum[c] = Σ_r x[r, c]`.
public func channelSums(_ x: UnsafePointer<Float>, rows: Int, channels: Int) -> [Double] {
    reduceRows(rows: rows, width: channels) { range, block in
        addRows(x, rows: range, width: channels, into: block)
    }
}

/// `block[c] += x[r, c]` for `r` in `rows`, eight channels at a time (a plain pointer loop stays
/// scalar: the block might alias the rows). Each lane adds in the plain loop's order.
func addRows(_ x: UnsafePointer<Float>, rows: Range<Int>, width: Int, into block: UnsafeMutablePointer<Float>) {
    let wide = width & ~7
    for r in rows {
        let xr = x + r &* width
        var c = 0
        while c < wide {
            let sum = UnsafeRawPointer(block + c).loadUnaligned(as: SIMD8<Float>.self)
                + UnsafeRawPointer(xr + c).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(block + c).storeBytes(of: sum, as: SIMD8<Float>.self)
            c &+= 8
        }
        while c < width { block[c] += xr[c]; c &+= 1 }
    }
}
