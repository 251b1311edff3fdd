import Foundation
import TensorEngine

// The checkpoint file format, version 1. All integers and floats are little-endian.
//
//     offset 0    8 bytes   magic "RKDCKPT1"
//     offset 8    UInt64    L, the length of the JSON header
//     offset 16   UInt32    CRC-32 of the JSON header
//     offset 20   L bytes   JSON header (UTF-8, sorted keys): format version, step, epoch,
//                           metadata, rng, optimizer kind and step, and one entry per tensor
//                           (role, optimizer slot, name, shape, count) in payload order, plus the
//                           payload's length and CRC-32
//     offset 20+L payload   the tensors' Float32 values, concatenated in header order
//
// The file ends exactly at the payload's end.

/// The JSON header of a checkpoint file.
struct CheckpointHeader: Codable {
    /// What a stored tensor is.
    enum Role: String, Codable {
        case parameter, buffer, optimizer
    }

    /// One tensor of the payload.
    struct Entry: Codable {
        var role: Role
        /// The optimizer slot, for role `optimizer`.
        var slot: String?
        var name: String
        var shape: [Int]
        var count: Int
    }

    /// The optimizer's kind and step count; its vectors are payload entries.
    struct OptimizerSummary: Codable {
        var kind: String
        var step: Int
    }

    var formatVersion: Int
    var step: Int
    var epoch: Int
    var metadata: [String: String]
    var rng: RandomGenerator?
    var optimizer: OptimizerSummary?
    var tensors: [Entry]
    var payloadBytes: Int
    var payloadCRC32: UInt32
}

extension Checkpoint {
    /// The format version this build writes and reads.
    public static let formatVersion = 1
    static let magic: [UInt8] = Array("RKDCKPT1".utf8)
    static let prefixLength = 20
    /// A bound on the JSON header, far above any real one, so a damaged length cannot make a
    /// reader allocate absurdly.
    static let maximumHeaderBytes = 256 << 20

    /// The file contents: magic, header length and checksum, JSON header, Float32 payload.
    /// Tensors are stored by role and then by sorted name, so equal checkpoints encode equally.
    /// - Throws: ``CheckpointError`` (`io`) if the header cannot be encoded.
    public func encoded() throws -> Data {
        var entries: [CheckpointHeader.Entry] = []
        var blobs: [[Float]] = []
        func add(_ role: CheckpointHeader.Role, slot: String? = nil, _ name: String, _ shape: [Int], _ values: [Float])
        {
            entries.append(.init(role: role, slot: slot, name: name, shape: shape, count: values.count))
            blobs.append(values)
        }
        for name in parameters.keys.sorted() {
            if let t = parameters[name] { add(.parameter, name, t.shape, t.scalars) }
        }
        for name in buffers.keys.sorted() {
            if let t = buffers[name] { add(.buffer, name, t.shape, t.scalars) }
        }
        if let optimizer {
            for slot in optimizer.slots.keys.sorted() {
                let vectors = optimizer.slots[slot] ?? [:]
                for name in vectors.keys.sorted() {
                    if let v = vectors[name] { add(.optimizer, slot: slot, name, [v.count], v) }
                }
            }
        }
        let payloadCount = blobs.reduce(0) { $0 + $1.count }
        var payload = [UInt8]()
        payload.reserveCapacity(payloadCount * 4)
        for blob in blobs {
            for v in blob { Self.append(v.bitPattern, bytes: 4, to: &payload) }
        }
        let header = CheckpointHeader(
            formatVersion: Self.formatVersion,
            step: step,
            epoch: epoch,
            metadata: metadata,
            rng: rng,
            optimizer: optimizer.map { .init(kind: $0.kind, step: $0.step) },
            tensors: entries,
            payloadBytes: payload.count,
            payloadCRC32: CRC32.checksum(payload)
        )
        let json: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            json = [UInt8](try encoder.encode(header))
        } catch {
            throw CheckpointError(.io, "cannot encode the checkpoint header; check the metadata", cause: error)
        }
        var bytes = Self.magic
        bytes.reserveCapacity(Self.prefixLength + json.count + payload.count)
        Self.append(UInt64(json.count), bytes: 8, to: &bytes)
        Self.append(UInt64(CRC32.checksum(json)), bytes: 4, to: &bytes)
        bytes += json
        bytes += payload
        return Data(bytes)
    }

    /// Decodes and validates file contents written by ``encoded()``.
    /// - Throws: ``CheckpointError``: `notACheckpoint`, `unsupportedVersion`, `truncated` or
    ///   `corrupted`, saying what is wrong.
    public init(decoding data: Data) throws {
        let bytes = [UInt8](data)
        let size = bytes.count
        guard size >= Self.magic.count, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            if size < Self.magic.count && Array(Self.magic.prefix(size)) == bytes {
                throw CheckpointError(
                    .truncated,
                    "the file is only \(size) bytes; it was cut off while being written or copied"
                )
            }
            if Array(bytes.prefix(7)) == Array(Self.magic.prefix(7)) {
                throw CheckpointError(
                    .unsupportedVersion,
                    "the file is a checkpoint of format '\(String(decoding: bytes.prefix(8), as: UTF8.self))', "
                        + "this build reads RKDCKPT1; use the rkd version that wrote it"
                )
            }
            throw CheckpointError(.notACheckpoint, "the file does not start with RKDCKPT1; it is not an rkd checkpoint")
        }
        guard size >= Self.prefixLength else {
            throw CheckpointError(
                .truncated,
                "the file is \(size) bytes, shorter than the \(Self.prefixLength)-byte prefix; "
                    + "it was cut off while being written or copied"
            )
        }
        let announced = Self.readInteger(bytes, at: 8, bytes: 8)
        guard announced <= UInt64(Self.maximumHeaderBytes) else {
            throw CheckpointError(
                .corrupted,
                "the header length field says \(announced) bytes, which is implausible; "
                    + "the file is damaged, use an earlier checkpoint"
            )
        }
        let headerLength = Int(announced)
        guard headerLength <= size - Self.prefixLength else {
            throw CheckpointError(
                .truncated,
                "the header needs \(headerLength) bytes but only \(size - Self.prefixLength) follow the "
                    + "prefix; the file was cut off, use an earlier checkpoint"
            )
        }
        let headerRange = Self.prefixLength..<(Self.prefixLength + headerLength)
        guard UInt32(Self.readInteger(bytes, at: 16, bytes: 4)) == CRC32.checksum(bytes, headerRange) else {
            throw CheckpointError(
                .corrupted,
                "the header checksum does not match; the file is damaged, use an earlier checkpoint"
            )
        }
        let header: CheckpointHeader
        do {
            header = try JSONDecoder().decode(CheckpointHeader.self, from: Data(bytes[headerRange]))
        } catch {
            throw CheckpointError(
                .corrupted,
                "the header is not valid checkpoint JSON; the file is damaged",
                cause: error
            )
        }
        guard header.formatVersion == Self.formatVersion else {
            throw CheckpointError(
                .unsupportedVersion,
                "the header has format version \(header.formatVersion), this build reads "
                    + "\(Self.formatVersion); use the rkd version that wrote it"
            )
        }
        try Self.validate(header)
        let payloadStart = headerRange.upperBound
        let available = size - payloadStart
        guard available >= header.payloadBytes else {
            throw CheckpointError(
                .truncated,
                "the tensors need \(header.payloadBytes) bytes but only \(available) remain; "
                    + "the file was cut off, use an earlier checkpoint"
            )
        }
        guard available == header.payloadBytes else {
            throw CheckpointError(
                .corrupted,
                "\(available - header.payloadBytes) unexpected bytes follow the tensors; the file is damaged"
            )
        }
        guard CRC32.checksum(bytes, payloadStart..<size) == header.payloadCRC32 else {
            throw CheckpointError(
                .corrupted,
                "the tensor data checksum does not match; the file is damaged, "
                    + "use an earlier checkpoint"
            )
        }

        var parameters: [String: Tensor] = [:]
        var buffers: [String: Tensor] = [:]
        var slots: [String: [String: [Float]]] = [:]
        var offset = payloadStart
        for entry in header.tensors {
            let values = Self.readFloats(bytes, at: offset, count: entry.count)
            offset += entry.count * 4
            switch entry.role {
            case .parameter: parameters[entry.name] = Tensor(shape: entry.shape, scalars: values)
            case .buffer: buffers[entry.name] = Tensor(shape: entry.shape, scalars: values)
            case .optimizer: slots[entry.slot ?? "", default: [:]][entry.name] = values
            }
        }
        self.init(
            parameters: parameters,
            buffers: buffers,
            optimizer: header.optimizer.map { OptimizerState(kind: $0.kind, step: $0.step, slots: slots) },
            rng: header.rng,
            step: header.step,
            epoch: header.epoch,
            metadata: header.metadata
        )
    }

    /// Checks the header's internal consistency: counts, shapes, names and the payload length.
    private static func validate(_ header: CheckpointHeader) throws {
        func damaged(_ what: String) -> CheckpointError {
            CheckpointError(.corrupted, "\(what); the file is damaged, use an earlier checkpoint")
        }
        guard header.step >= 0, header.epoch >= 0 else {
            throw damaged("step \(header.step) or epoch \(header.epoch) is negative")
        }
        var total = 0
        var seen = Set<String>()
        for entry in header.tensors {
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw damaged("tensor '\(entry.name)' has shape \(entry.shape)")
            }
            var elements = 1
            for extent in entry.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard !overflow else { throw damaged("tensor '\(entry.name)' has an overflowing shape \(entry.shape)") }
                elements = product
            }
            guard elements == entry.count else {
                throw damaged("tensor '\(entry.name)' has shape \(entry.shape) but count \(entry.count)")
            }
            switch entry.role {
            case .optimizer:
                guard header.optimizer != nil, let slot = entry.slot, !slot.isEmpty else {
                    throw damaged("optimizer tensor '\(entry.name)' has no optimizer or slot")
                }
            case .parameter, .buffer:
                guard entry.slot == nil else { throw damaged("\(entry.role) '\(entry.name)' has an optimizer slot") }
            }
            let key = "\(entry.role.rawValue)/\(entry.slot ?? "")/\(entry.name)"
            guard seen.insert(key).inserted else { throw damaged("tensor '\(entry.name)' appears twice") }
            let (sum, overflow) = total.addingReportingOverflow(entry.count)
            guard !overflow, sum <= Int.max / 4 else { throw damaged("the tensor sizes overflow") }
            total = sum
        }
        guard total * 4 == header.payloadBytes else {
            throw damaged("the header's tensors need \(total * 4) bytes but it announces \(header.payloadBytes)")
        }
    }

    private static func append(_ value: some FixedWidthInteger, bytes count: Int, to bytes: inout [UInt8]) {
        for k in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * k))) }
    }

    private static func readInteger(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for k in 0..<count { value |= UInt64(bytes[offset + k]) << (8 * k) }
        return value
    }

    private static func readFloats(_ bytes: [UInt8], at offset: Int, count: Int) -> [Float] {
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let o = offset + 4 * i
            let bits =
                UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            values[i] = Float(bitPattern: bits)
        }
        return values
    }
}
