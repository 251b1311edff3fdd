import Foundation
import SwiftProtobuf

/// Counts the messages in a serialized ModelProto on the raw bytes, before swift-protobuf
/// allocates anything, so that a small file cannot decode into a huge one: an empty
/// AttributeProto is 2 bytes on disk and about 500 bytes decoded (8 MB of them took 2 GiB and 20 s
/// to decode in a debug build), an empty NodeProto about 80.
///
/// The walk follows onnx.proto's message-typed fields only, iteratively (no recursion), and skips
/// everything else by its length. Bytes it cannot make sense of, or nesting deeper than the
/// decoder accepts, end the scan quietly: decoding them reports the error properly.
enum ModelWireScan {
    /// The message types whose fields hold further messages, and which of those the scan counts.
    enum Kind: UInt8 {
        case model, graph, node, attribute, tensor, sparseTensor, valueInfo, type, typeTensor, typeSequence
        case typeMap, typeOptional, typeSparseTensor, shape, function, trainingInfo, leaf

        /// The kind of message field `number` of this kind holds, or nil when it is not a message.
        func child(_ number: UInt64) -> Kind? {
            switch (self, number) {
            case (.model, 7): .graph
            case (.model, 8), (.model, 14): .leaf
            case (.model, 20): .trainingInfo
            case (.model, 25): .function
            case (.graph, 1), (.function, 7): .node
            case (.graph, 5): .tensor
            case (.graph, 15): .sparseTensor
            case (.graph, 11), (.graph, 12), (.graph, 13): .valueInfo
            case (.graph, 14), (.function, 9): .leaf
            case (.node, 5): .attribute
            case (.attribute, 5), (.attribute, 10): .tensor
            case (.attribute, 6), (.attribute, 11): .graph
            case (.attribute, 22), (.attribute, 23): .sparseTensor
            case (.attribute, 14), (.attribute, 15): .type
            case (.tensor, 3), (.tensor, 13): .leaf
            case (.sparseTensor, 1), (.sparseTensor, 2): .tensor
            case (.valueInfo, 2): .type
            case (.type, 1): .typeTensor
            case (.type, 4): .typeSequence
            case (.type, 5): .typeMap
            case (.type, 9): .typeOptional
            case (.type, 8): .typeSparseTensor
            case (.typeTensor, 2), (.typeSparseTensor, 2): .shape
            case (.typeSequence, 1), (.typeMap, 2), (.typeOptional, 1): .type
            case (.shape, 1): .leaf
            case (.trainingInfo, 1), (.trainingInfo, 2): .graph
            case (.trainingInfo, 3), (.trainingInfo, 4): .leaf
            default: nil
            }
        }
    }

    struct Counts: Equatable {
        /// Every message below the ModelProto.
        var messages = 0
        var nodes = 0
    }

    /// The messages in `bytes`, up to the point where the bytes stop making sense or a count
    /// passes `stopAt`'s.
    static func count(_ bytes: UnsafeRawBufferPointer, stopAt: Counts = Counts(messages: .max, nodes: .max)) -> Counts {
        var counts = Counts()
        // The message being read, and those it is nested in (kind and end offset).
        var kind = Kind.model
        var end = bytes.count
        var outer: [(kind: Kind, end: Int)] = []
        var offset = 0
        while true {
            if offset == end {
                guard let parent = outer.popLast() else { return counts }
                (kind, end) = parent
                continue
            }
            guard let key = readVarint(bytes, &offset, end: end) else { return counts }
            let length: Int
            switch key & 7 {
            case 0:
                guard readVarint(bytes, &offset, end: end) != nil else { return counts }
                continue
            case 1: length = 8
            case 5: length = 4
            case 2:
                guard let declared = readVarint(bytes, &offset, end: end), declared <= UInt64(end - offset) else {
                    return counts
                }
                length = Int(declared)
            default: return counts
            }
            guard length <= end - offset else { return counts }
            if key & 7 == 2, let child = kind.child(key >> 3) {
                counts.messages += 1
                if child == .node { counts.nodes += 1 }
                if counts.messages > stopAt.messages || counts.nodes > stopAt.nodes { return counts }
                if child != .leaf {
                    // Deeper than the decoder goes: it will refuse the file and say why.
                    guard outer.count < ONNXModel.decodingOptions.messageDepthLimit else { return counts }
                    outer.append((kind, end))
                    (kind, end) = (child, offset + length)
                    continue
                }
            }
            offset += length
        }
    }

    /// The varint at `offset`, which moves past it; nil if it runs past `end` or over 10 bytes.
    private static func readVarint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, end: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// Throws `.limitExceeded` when the bytes hold more nodes or messages than `limits` allow.
    static func check(_ data: Data, limits: ImportLimits) throws {
        let limit = Counts(messages: limits.maximumMessages, nodes: limits.maximumNodes)
        let counts = data.withUnsafeBytes { count($0, stopAt: limit) }
        guard counts.nodes <= limits.maximumNodes else {
            throw ONNXError(
                .limitExceeded,
                "the model has more than \(limits.maximumNodes) nodes, the limit (counting every graph); raise "
                    + "ImportLimits.maximumNodes if it is genuine"
            )
        }
        guard counts.messages <= limits.maximumMessages else {
            throw ONNXError(
                .limitExceeded,
                "the model holds more than \(limits.maximumMessages) protobuf messages (nodes, attributes, "
                    + "tensors, shapes), the limit; raise ImportLimits.maximumMessages if it is genuine"
            )
        }
    }
}
