import Foundation
import TensorEngine

/// Decodes ONNX TensorProtos (initializers, Constant values, the test suites' .pb files).
enum TensorDecoding {
    /// The element count of `dims`, checked by `ImportLimits.admit`: no negative extent, at most
    /// `maximumRank` axes, the product of the non-zero extents within the limit.
    static func elementCount(_ dims: [Int64], limits: ImportLimits, name: String) throws -> Int {
        // Int64 and Int are the same width on every platform rkd builds for.
        try limits.checkedCount(dims.map { Int($0) }, "tensor '\(name)'")
    }

    /// The value of a TensorProto. Float, float16, bfloat16 and double become float tensors; the integer
    /// and boolean types become integer values. Data may be raw (little-endian) or in the typed fields.
    static func decode(_ t: Onnx_TensorProto, limits: ImportLimits) throws -> Value {
        let name = t.name
        let shape = t.dims.map { Int($0) }
        let count = try elementCount(t.dims, limits: limits, name: name)
        if t.dataLocation == .external {
            throw ONNXError(
                .unsupported,
                "tensor '\(name)' keeps its data in an external file; load the model "
                    + "with ONNXModel(contentsOf:) so files beside it can be read"
            )
        }
        let raw = t.rawData
        func checkCount(_ n: Int, _ field: String) throws {
            guard n == count else {
                throw ONNXError(
                    .invalidGraph,
                    "tensor '\(name)' of shape \(shape) has \(n) values in \(field), "
                        + "expected \(count)"
                )
            }
        }
        func rawWords<W: FixedWidthInteger>(_: W.Type) throws -> [W] {
            // count ≤ maximumTensorElements, so the product cannot overflow.
            guard raw.count == count * MemoryLayout<W>.size else {
                throw ONNXError(
                    .invalidGraph,
                    "tensor '\(name)' of shape \(shape) needs \(count * MemoryLayout<W>.size) bytes of raw_data "
                        + "(\(count) elements of \(MemoryLayout<W>.size) bytes), but has \(raw.count)"
                )
            }
            return raw.withUnsafeBytes { bytes in
                (0..<count).map { i in
                    W(littleEndian: bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<W>.size, as: W.self))
                }
            }
        }
        switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
        case .float:
            if !raw.isEmpty {
                return .float(Tensor(shape: shape, scalars: try rawWords(UInt32.self).map { Float(bitPattern: $0) }))
            }
            try checkCount(t.floatData.count, "float_data")
            return .float(Tensor(shape: shape, scalars: t.floatData))
        case .double:
            if !raw.isEmpty {
                return .float(
                    Tensor(shape: shape, scalars: try rawWords(UInt64.self).map { Float(Double(bitPattern: $0)) })
                )
            }
            try checkCount(t.doubleData.count, "double_data")
            return .float(Tensor(shape: shape, scalars: t.doubleData.map { Float($0) }))
        case .float16:
            let bits: [UInt16] =
                raw.isEmpty ? t.int32Data.map { UInt16(truncatingIfNeeded: $0) } : try rawWords(UInt16.self)
            try checkCount(bits.count, "int32_data")
            return .float(Tensor(shape: shape, scalars: bits.map { Float(Float16(bitPattern: $0)) }))
        case .bfloat16:
            let bits: [UInt16] =
                raw.isEmpty ? t.int32Data.map { UInt16(truncatingIfNeeded: $0) } : try rawWords(UInt16.self)
            try checkCount(bits.count, "int32_data")
            return .float(Tensor(shape: shape, scalars: bits.map { Float(bitPattern: UInt32($0) << 16) }))
        case .int64:
            let values: [Int] =
                raw.isEmpty ? t.int64Data.map { Int($0) } : try rawWords(UInt64.self).map { Int(Int64(bitPattern: $0)) }
            try checkCount(values.count, "int64_data")
            return .int(shape: shape, values: values)
        case .int32, .int16, .int8, .uint8, .uint16, .bool:
            let values: [Int]
            if raw.isEmpty {
                values = t.int32Data.map { Int($0) }
            } else {
                switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
                case .int32: values = try rawWords(UInt32.self).map { Int(Int32(bitPattern: $0)) }
                case .int16: values = try rawWords(UInt16.self).map { Int(Int16(bitPattern: $0)) }
                case .int8: values = try rawWords(UInt8.self).map { Int(Int8(bitPattern: $0)) }
                case .uint16: values = try rawWords(UInt16.self).map { Int($0) }
                default: values = try rawWords(UInt8.self).map { Int($0) }
                }
            }
            try checkCount(values.count, "int32_data")
            return .int(shape: shape, values: values)
        case .uint32, .uint64:
            let values: [Int] =
                raw.isEmpty
                ? t.uint64Data.map { Int(truncatingIfNeeded: $0) }
                : (t.dataType == Onnx_TensorProto.DataType.uint32.rawValue
                    ? try rawWords(UInt32.self).map { Int($0) }
                    : try rawWords(UInt64.self).map { Int(truncatingIfNeeded: $0) })
            try checkCount(values.count, "uint64_data")
            return .int(shape: shape, values: values)
        default:
            throw ONNXError(
                .unsupported,
                "tensor '\(name)' has data type \(t.dataType), which rkd does not support "
                    + "(supported: float, float16, bfloat16, double and the integer types)"
            )
        }
    }
}
