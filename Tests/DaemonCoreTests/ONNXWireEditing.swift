import Foundation

/// Edits serialized ONNX models at the protobuf wire level, for tests that need a malformed model
/// without the ONNX types (internal to ONNXInterop).
enum Onnx_ModelProtoBytes {
    struct Malformed: Error {}

    /// The model with every graph output (GraphProto field 12 inside ModelProto field 7) removed.
    static func withoutOutputs(_ model: Data) throws -> Data {
        try rewrite(model) { field, payload in
            guard field == 7 else { return payload }
            return try rewrite(payload) { inner, innerPayload in inner == 12 ? nil : innerPayload }
        }
    }

    /// The model with the second dimension (channels) of its first graph input declared as `channels`.
    static func withFirstInputChannels(_ channels: UInt8, _ model: Data) throws -> Data {
        try rewrite(model) { field, graph in
            guard field == 7 else { return graph }
            var inputs = 0
            return try rewrite(graph) { field, input in
                guard field == 11 else { return input }
                inputs += 1
                guard inputs == 1 else { return input }
                return try rewrite(input) { field, type in  // ValueInfoProto.type
                    guard field == 2 else { return type }
                    return try rewrite(type) { field, tensor in  // TypeProto.tensor_type
                        guard field == 1 else { return tensor }
                        return try rewrite(tensor) { field, shape in  // TypeProto.Tensor.shape
                            guard field == 2 else { return shape }
                            var dims = 0
                            return try rewrite(shape) { field, dim in  // TensorShapeProto.dim
                                guard field == 1 else { return dim }
                                dims += 1
                                return dims == 2 ? Data([0x08, channels]) : dim  // dim_value = channels
                            }
                        }
                    }
                }
            }
        }
    }

    /// Re-encodes `message`, passing each length-delimited field through `transform` (nil drops it);
    /// other wire types are copied unchanged.
    static func rewrite(_ message: Data, transform: (Int, Data) throws -> Data?) throws -> Data {
        let bytes = [UInt8](message)
        var output = Data()
        var index = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func encode(_ value: UInt64) {
            var v = value
            repeat {
                let byte = UInt8(v & 0x7f)
                v >>= 7
                output.append(v == 0 ? byte : byte | 0x80)
            } while v != 0
        }
        while index < bytes.count {
            let start = index
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: _ = try varint()
            case 1: index += 8
            case 5: index += 4
            case 2:
                let length = Int(try varint())
                guard length >= 0, index + length <= bytes.count else { throw Malformed() }
                let payload = Data(bytes[index..<index + length])
                index += length
                if let replaced = try transform(field, payload) {
                    encode(key)
                    encode(UInt64(replaced.count))
                    output.append(replaced)
                }
                continue
            default: throw Malformed()
            }
            guard index <= bytes.count else { throw Malformed() }
            output.append(contentsOf: bytes[start..<index])
        }
        return output
    }
}
