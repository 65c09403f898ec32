// Allocation helpers for hot paths: outputs that are fully overwritten skip the zero fill, and GEMMs
// that run on several parallelFor workers at once keep OpenBLAS to one thread each.
//
// Page faults: a fresh multi-megabyte activation comes straight from mmap, and first-touching it 4 KB
// at a time cost as much as the convolution writing it (measured with `glia bench conv`: 16->32 1x1
// at 128², batch 16, forward 50-80 ms with 4 KB pages, 26-35 ms with 2 MB pages). So large buffers
// ask the kernel for transparent huge pages before they are first written.
#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// A tensor of `shape` whose elements `body` writes, every one of them. Skips the zero fill,
    /// which on a large activation is a full extra pass over memory.
    public init(shape: [Int], fillingUninitialized body: (UnsafeMutablePointer<Float>) -> Void) {
        let count = shape.reduce(1, *)
        let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress {
                adviseHugePages(base, count: count)
                body(base)
            }
            initialized = count
        }
        self.init(shape: shape, scalars: scalars)
    }
}

/// Asks for transparent huge pages on the 2 MB-aligned interior of a buffer of at least 4 MB that
/// has not been touched yet. Advice only: without THP support nothing changes.
@usableFromInline func adviseHugePages(_ base: UnsafeMutablePointer<Float>, count: Int) {
    #if canImport(Glibc)
    let huge = 1 << 21, bytes = count * MemoryLayout<Float>.stride
    guard bytes >= 2 * huge else { return }
    let address = UInt(bitPattern: base)
    let start = (address + UInt(huge - 1)) & ~UInt(huge - 1)
    let end = (address + UInt(bytes)) & ~UInt(huge - 1)
    if end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) {
        _ = madvise(pointer, Int(end - start), MADV_HUGEPAGE)
    }
    #endif
}

extension BLAS {
    /// Runs `body` with OpenBLAS limited to one thread, then restores the previous count. For code
    /// that calls GEMM from several `parallelFor` workers at once (one block each): the workers
    /// provide the parallelism, and OpenBLAS's own threads would only compete with them for cores.
    /// The limit is process-wide while `body` runs.
    public static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        let saved = threadCount
        if saved != 1 { threadCount = 1 }
        defer { if saved != 1 { threadCount = saved } }
        return try body()
    }
}
