// Per-thread scratch memory for kernels' temporary buffers (a convolution's im2col columns and
// dcol blocks), kept from one call to the next instead of allocated and freed per call.
//
// Each thread owns one buffer that grows to the largest request it has seen and lives until the
// thread exits (pthread-specific data with a destructor). parallelFor's workers are Dispatch's
// long-lived threads, so after the first pass every convolution finds its columns ready; workers of
// two paths running at once are different threads, so they never share a buffer and no lock is taken.
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with the calling thread's scratch buffer of at least `count` floats (contents left
/// from earlier use). Not re-entrant: `body` must not ask for scratch again on the same thread.
func withThreadScratch<T>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> T) -> T {
    let arena = ScratchArena.current
    precondition(!arena.inUse, "thread scratch asked for again while in use (nested kernels on one thread)")
    arena.inUse = true
    defer { arena.inUse = false }
    return body(arena.buffer(atLeast: count))
}

/// One thread's scratch buffer; only ever touched by the thread that owns it.
private final class ScratchArena {
    private var pointer: UnsafeMutablePointer<Float>?
    private var capacity = 0
    /// True while a kernel holds the buffer.
    var inUse = false

    /// The buffer, grown (contents dropped) when smaller than `count` floats.
    func buffer(atLeast count: Int) -> UnsafeMutablePointer<Float> {
        if let pointer, capacity >= count { return pointer }
        pointer?.deallocate()
        capacity = max(1, count)
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        pointer = fresh
        return fresh
    }

    deinit { pointer?.deallocate() }

    /// The calling thread's arena, made on its first request.
    static var current: ScratchArena {
        if let raw = pthread_getspecific(scratchKey) {
            return Unmanaged<ScratchArena>.fromOpaque(raw).takeUnretainedValue()
        }
        let arena = ScratchArena()
        let status = pthread_setspecific(scratchKey, Unmanaged.passRetained(arena).toOpaque())
        precondition(status == 0, "pthread_setspecific failed (\(status)) for the thread's scratch buffer")
        return arena
    }
}

/// The pthread key of the per-thread arenas; its destructor releases a thread's arena at exit.
private let scratchKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { raw in
        if let raw { Unmanaged<ScratchArena>.fromOpaque(raw).release() }
    }
    precondition(status == 0, "pthread_key_create failed (\(status)) for the per-thread scratch buffers")
    return key
}()
