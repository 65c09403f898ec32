// Allocation helpers for hot paths: outputs that are fully overwritten skip the zero fill.
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

/// Process-wide memory settings for long numeric runs (training, benchmarks).
public enum AllocatorTuning {
    /// Makes glibc's malloc keep freed memory and hand it out again, instead of mapping every large
    /// tensor fresh from the kernel and unmapping it on release. Fresh pages must be zeroed by the
    /// kernel on first touch: in a ResUNet pass (batch 16, 256²) that was a quarter of all CPU time,
    /// and this roughly doubled inference speed in `glia bench models` (peak memory +15 %).
    ///
    /// Sets M_MMAP_MAX 0 (no per-allocation mmap), M_TRIM_THRESHOLD Int32.max (about 2 GB: keep the heap)
    /// and M_ARENA_MAX 1 (threads share the main heap; another thread's heap could not hold a
    /// tensor over 64 MB and would fall back to mmap). Call it once, first thing in the process,
    /// before other threads allocate. Does nothing on platforms without glibc.
    public static func reuseFreedMemory() {
        #if canImport(Glibc)
        // <malloc.h> is not part of Swift's Glibc module: look mallopt up, and use glibc's (stable)
        // option numbers M_TRIM_THRESHOLD -1, M_MMAP_MAX -4, M_ARENA_MAX -8.
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        _ = mallopt(-4, 0)
        _ = mallopt(-1, Int32.max)
        _ = mallopt(-8, 1)
        #endif
    }
}
