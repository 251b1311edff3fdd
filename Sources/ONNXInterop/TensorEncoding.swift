import Foundation
import TensorEngine

/// Encodes float tensors as ONNX TensorProtos: the inverse of ``TensorDecoding`` for the float types.
enum TensorEncoding {
    /// A float32 tensor named `name`, its data in `raw_data` (little-endian), as rkd writes fresh
    /// initializers.
    static func float32(name: String, _ value: Tensor) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = value.shape.map { Int64($0) }
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.rawData = littleEndianBytes(value.scalars.map(\.bitPattern))
        return t
    }

    /// `original` with its data replaced by `value`, in the original's data type and storage: data
    /// that was in `raw_data` stays there (little-endian), data in a typed field (`float_data`,
    /// `double_data`, `int32_data` for float16 and bfloat16) stays in that field. Name, dims, doc
    /// string and every other field are kept. `previous` is the decoded original, if known: an
    /// element that was already infinite or NaN there may stay so.
    /// - Throws: `ONNXError` `.invalidGraph` when the shapes differ, `.unsupported` for a non-float
    ///   data type, `.invalidInput` when a finite value would become infinite or NaN (a trained value
    ///   outside float16's range, or training that diverged).
    static func replacingData(
        of original: Onnx_TensorProto,
        with value: Tensor,
        previous: Tensor? = nil
    ) throws -> Onnx_TensorProto {
        let name = original.name
        guard original.dims.map({ Int($0) }) == value.shape else {
            throw ONNXError(
                .invalidGraph,
                "initializer '\(name)' has shape \(original.dims) but its new value has shape \(value.shape)"
            )
        }
        var t = original
        let raw = !original.rawData.isEmpty
        let scalars = value.scalars
        switch Onnx_TensorProto.DataType(rawValue: Int(original.dataType)) {
        case .float:
            try checkFinite(scalars, as: scalars, previous: previous?.scalars, name: name, type: "float")
            if raw {
                t.rawData = littleEndianBytes(scalars.map(\.bitPattern))
            } else {
                t.floatData = scalars
            }
        case .double:
            try checkFinite(scalars, as: scalars, previous: previous?.scalars, name: name, type: "double")
            let doubles = scalars.map { Double($0) }
            if raw {
                t.rawData = littleEndianBytes(doubles.map(\.bitPattern))
            } else {
                t.doubleData = doubles
            }
        case .float16:
            let halves = scalars.map { Float16($0) }
            try checkFinite(
                scalars,
                as: halves.map { Float($0) },
                previous: previous?.scalars,
                name: name,
                type: "float16"
            )
            let bits = halves.map(\.bitPattern)
            if raw {
                t.rawData = littleEndianBytes(bits)
            } else {
                t.int32Data = bits.map { Int32($0) }
            }
        case .bfloat16:
            let bits = scalars.map(bfloat16Bits)
            try checkFinite(
                scalars,
                as: bits.map { Float(bitPattern: UInt32($0) << 16) },
                previous: previous?.scalars,
                name: name,
                type: "bfloat16"
            )
            if raw {
                t.rawData = littleEndianBytes(bits)
            } else {
                t.int32Data = bits.map { Int32($0) }
            }
        default:
            throw ONNXError(
                .unsupported,
                "initializer '\(name)' has data type \(original.dataType); only float, double, float16 and "
                    + "bfloat16 initializers can take trained values"
            )
        }
        return t
    }

    /// The bfloat16 nearest to `x` (round to nearest, ties to even), as its bit pattern; NaN stays NaN.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// Refuses elements that were finite before (`previous`) but are not once stored (`stored`): a
    /// value out of the data type's range, or NaN or infinity from training. Writing them would
    /// silently break the user's model.
    private static func checkFinite(
        _ values: [Float],
        as stored: [Float],
        previous: [Float]?,
        name: String,
        type: String
    ) throws {
        for (i, (v, s)) in zip(values, stored).enumerated() where !s.isFinite && previous?[i].isFinite != false {
            let reason =
                v.isFinite
                ? "\(v) is outside the range of \(type), the initializer's data type"
                : "it is \(v); training diverged"
            throw ONNXError(
                .invalidInput,
                "initializer '\(name)': element \(i) cannot be written: \(reason). Lower the learning rate or "
                    + "check the training run before exporting"
            )
        }
    }

    /// The words in little-endian byte order.
    static func littleEndianBytes<W: FixedWidthInteger>(_ words: [W]) -> Data {
        words.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }
}
