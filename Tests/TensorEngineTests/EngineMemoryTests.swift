import TensorEngine
import Testing

@Suite("Engine memory")
struct EngineMemoryTests {
    /// Buffers freed under the engine's allocator settings (256 MB in 4 MB blocks, under the mmap and
    /// the trim thresholds) are not resident after `returnFreeMemory`. Whether `free` alone already
    /// gave them back depends on the arena the test thread allocates from (glibc deletes a thread
    /// arena's heap once it is wholly free, but keeps the main arena's pages): when it did not, only
    /// the trim can pass this test.
    @Test func returningFreeMemoryShrinksTheResidentSet() {
        EngineMemory.returnFreeMemory()
        let blockFloats = 1 << 20
        var blocks: [UnsafeMutablePointer<Float>] = []
        for _ in 0..<64 {
            let block = UnsafeMutablePointer<Float>.allocate(capacity: blockFloats)
            block.initialize(repeating: 1, count: blockFloats)
            blocks.append(block)
        }
        let touched = EngineMemory.residentBytes()
        for block in blocks { block.deallocate() }
        let memory = EngineMemory.returnFreeMemory()
        let mb = 1 << 20
        #expect(touched > 256 * mb && memory.before > 0, "the resident set can be read: \(touched / mb) MB")
        #expect(memory.after <= memory.before, "returning memory does not grow the resident set")
        #expect(
            memory.after < touched - 192 * mb,
            "resident: \(touched / mb) MB with the blocks, \(memory.before / mb) MB freed, \(memory.after / mb) MB returned"
        )
    }
}
