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
/// copy itself. The last move overlaps the one before it instead of a scalar tail (a row of 14 is
/// two moves of 8, a row of 7 two of 4).
@inline(__always)
func copyRow(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
    let from = UnsafeRawPointer(source)
    let to = UnsafeMutableRawPointer(destination)
    if count >= 8 {
        var i = 0
        while i + 8 <= count {
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                toByteOffset: 4 * i,
                as: SIMD8<Float>.self
            )
            i += 8
        }
        if i < count {
            let last = 4 * (count - 8)
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: last, as: SIMD8<Float>.self),
                toByteOffset: last,
                as: SIMD8<Float>.self
            )
        }
    } else if count >= 4 {
        let last = 4 * (count - 4)
        let head = from.loadUnaligned(as: SIMD4<Float>.self)
        let tail = from.loadUnaligned(fromByteOffset: last, as: SIMD4<Float>.self)
        to.storeBytes(of: head, as: SIMD4<Float>.self)
        to.storeBytes(of: tail, toByteOffset: last, as: SIMD4<Float>.self)
    } else {
        for i in 0..<count { destination[i] = source[i] }
    }
}

/// Sets `count` floats at `destination` to zero with inline vector stores, the last overlapping
/// the one before it as in `copyRow`: for the short padding rows of image planes, where a memset
/// call costs more than the stores (the Winograd staging cleared three such rows per channel and
/// image).
@inline(__always)
func zeroRow(_ destination: UnsafeMutablePointer<Float>, count: Int) {
    let to = UnsafeMutableRawPointer(destination)
    if count >= 8 {
        var i = 0
        while i + 8 <= count {
            to.storeBytes(of: SIMD8<Float>(), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        if i < count { to.storeBytes(of: SIMD8<Float>(), toByteOffset: 4 * (count - 8), as: SIMD8<Float>.self) }
    } else if count >= 4 {
        to.storeBytes(of: SIMD4<Float>(), as: SIMD4<Float>.self)
        to.storeBytes(of: SIMD4<Float>(), toByteOffset: 4 * (count - 4), as: SIMD4<Float>.self)
    } else {
        for i in 0..<count { destination[i] = 0 }
    }
}
