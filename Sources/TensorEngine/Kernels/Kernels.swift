/// The engine's compute kernels: the only code that touches raw pointers and BLAS.
///
/// Kernels work on dense row-major `[Float]` buffers with explicit shapes; they know nothing of
/// the tape. Each fast kernel has a naive loop-nest twin in `TensorEngineTestSupport` that tests
/// and the benchmark use as the oracle. Shape letters: N batch, C channels, H/W height and width,
/// K output channels, R/S kernel height and width.
public enum Kernels {}

/// Eight floats from `base + offset`, unaligned, as one vector load (constructing a SIMD8 from a
/// buffer slice goes through the generic sequence initializer, element by element).
@inlinable @inline(__always)
func loadVector8(_ buffer: UnsafeBufferPointer<Float>, _ offset: Int) -> SIMD8<Float> {
    UnsafeRawPointer(buffer.baseAddress.unsafelyUnwrapped + offset).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores eight floats at `base + offset`, unaligned, as one vector store.
@inlinable @inline(__always)
func storeVector8(_ value: SIMD8<Float>, _ buffer: UnsafeMutableBufferPointer<Float>, _ offset: Int) {
    UnsafeMutableRawPointer(buffer.baseAddress.unsafelyUnwrapped + offset).storeBytes(of: value, as: SIMD8<Float>.self)
}

/// Copies `count` floats from `source` to `destination` (not overlapping) with inline vector moves:
/// for the short rows of image planes (7 to 32 floats), where a memmove call costs more than the
/// copy itself.
@inline(__always)
func copyRow(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(destination + i).storeBytes(
            of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self),
            as: SIMD8<Float>.self
        )
        i += 8
    }
    while i < count {
        destination[i] = source[i]
        i += 1
    }
}
