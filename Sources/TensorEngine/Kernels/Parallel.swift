import CMalloc
import COpenBLAS
import Dispatch
import Foundation

/// Thread policy for the engine: one number for OpenBLAS and for the engine's own parallel loops.
///
/// `RKD_THREADS` sets it; by default it is the number of online cores. OpenBLAS is told explicitly
/// on first use, so its own default (which may differ per build) never applies.
public enum EngineThreads {
    /// The number of threads the engine uses.
    public static let count: Int = {
        let env = ProcessInfo.processInfo.environment["RKD_THREADS"].flatMap { Int($0) }
        let n = max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)
        // OpenBLAS stays single-threaded: its pthread workers spin after each call and would fight
        // the engine's own threads for the cores; Kernels.gemm splits large products itself.
        openblas_set_num_threads(1)
        configureAllocator()
        return n
    }()

    /// Keeps large tensor buffers on the heap: by default glibc serves every allocation over
    /// 128 KiB to 32 MiB with a fresh `mmap` and returns it with `munmap`, so each op's output pays
    /// for page faults and kernel zeroing. Raising the mmap and trim thresholds lets freed buffers be
    /// reused (see docs/benchmarks/engine.md for the effect).
    private static func configureAllocator() {
        _ = mallopt(M_MMAP_THRESHOLD, 512 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    }

    /// Makes sure the thread count has been applied to OpenBLAS (idempotent).
    @inline(__always)
    static func configure() { _ = count }
}

/// The engine's memory as a long-running process sees it.
///
/// `EngineThreads` raises glibc's trim threshold so that freed tensor buffers stay in the heap for
/// the next op: right while a job runs, wasteful between jobs, when a daemon would keep the peak of
/// its last job resident (8 GB after two hours of experiment jobs, 2026-12-04). The daemon calls
/// `returnFreeMemory()` when its last running job ends.
public enum EngineMemory {
    /// Gives the heap's free pages back to the operating system (glibc `malloc_trim`, every arena) and
    /// returns the process's resident bytes before and after.
    @discardableResult
    public static func returnFreeMemory() -> (before: Int, after: Int) {
        EngineThreads.configure()
        let before = residentBytes()
        _ = malloc_trim(0)
        return (before, residentBytes())
    }

    /// The process's resident set in bytes (/proc/self/statm), or 0 where it cannot be read.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// A value moved across threads by code that guarantees the threads touch disjoint data.
@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}

/// Runs `body` over `0..<count` split into contiguous chunks on up to `EngineThreads.count`
/// threads (`EnginePool`), serially when the work is small (`count * costPerItem < 32768`) or when
/// another parallel region is in flight. Chunks must write disjoint outputs, and the results must
/// not depend on the chunking (a serial run passes the whole range).
@inlinable
func parallelChunks(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let threads = EngineThreads.count
    if threads == 1 || count < 2 || count * costPerItem < 32_768 {
        body(0..<count)
        return
    }
    let chunks = min(threads, count)
    let per = (count + chunks - 1) / chunks
    guard EnginePool.usesDispatch else {
        EnginePool.shared.run(count: count, chunks: chunks, per: per, body)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let start = c * per
            let end = min(count, start + per)
            if start < end { box.value(start..<end) }
        }
    }
}
