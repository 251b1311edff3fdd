import Foundation

/// A float tensor from ONNX's backend test data (`test_data_set_0/input_0.pb`): a serialized TensorProto
/// read with just enough protobuf — dims (field 1), data_type (2, must be 1 = FLOAT) and raw_data (9) —
/// so that the tests can feed ONNX's own inputs and compare with its reference outputs.
struct ONNXTestTensor {
    var dims: [Int] = []
    var values: [Float] = []

    init(contentsOf path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var index = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
            throw TensorFileError("\(path): truncated varint")
        }
        var dataType: UInt64 = 0
        var raw: ArraySlice<UInt8> = []
        while index < bytes.count {
            let key = try varint()
            switch (key >> 3, key & 7) {
            case (1, 0): dims.append(Int(try varint()))
            case (1, 2):
                let end = index + Int(try varint())
                while index < end { dims.append(Int(try varint())) }
            case (2, 0): dataType = try varint()
            case (9, 2):
                let length = Int(try varint())
                raw = bytes[index..<(index + length)]
                index += length
            case (_, 0): _ = try varint()
            case (_, 2): index += Int(try varint())
            case (_, 5): index += 4
            case (_, 1): index += 8
            default: throw TensorFileError("\(path): unexpected wire type in key \(key)")
            }
        }
        guard dataType == 1, raw.count == dims.reduce(1, *) * 4 else {
            throw TensorFileError("\(path): not a float tensor with raw_data (type \(dataType), \(raw.count) bytes)")
        }
        values = stride(from: raw.startIndex, to: raw.endIndex, by: 4).map { offset in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(raw[offset + $1]) << (8 * UInt32($1)) })
        }
    }
}

struct TensorFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
