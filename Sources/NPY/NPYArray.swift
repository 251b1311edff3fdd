import Foundation

/// An n-dimensional array in NumPy's .npy format (versions 1.0, 2.0 and 3.0), C order, little-endian,
/// with the element types rkd exchanges: float32, float64, uint8 (images) and int64 (labels).
public struct NPYArray: Sendable, Equatable {
    /// The elements, in C (row-major) order.
    public enum Elements: Sendable, Equatable {
        case float32([Float])
        case float64([Double])
        case uint8([UInt8])
        case int64([Int64])

        var count: Int {
            switch self {
            case .float32(let v): v.count
            case .float64(let v): v.count
            case .uint8(let v): v.count
            case .int64(let v): v.count
            }
        }

        /// NumPy's type descriptor.
        var descriptor: String {
            switch self {
            case .float32: "<f4"
            case .float64: "<f8"
            case .uint8: "|u1"
            case .int64: "<i8"
            }
        }
    }

    public let shape: [Int]
    public let elements: Elements

    /// - Throws: `NPYError` when the element count does not match the shape.
    public init(shape: [Int], elements: Elements) throws {
        guard shape.allSatisfy({ $0 >= 0 }), Self.product(shape) == elements.count else {
            throw NPYError("shape \(shape) does not hold \(elements.count) elements")
        }
        self.shape = shape
        self.elements = elements
    }

    /// The elements as Float (float64 rounded, integers converted).
    public var floats: [Float] {
        switch elements {
        case .float32(let v): v
        case .float64(let v): v.map { Float($0) }
        case .uint8(let v): v.map { Float($0) }
        case .int64(let v): v.map { Float($0) }
        }
    }

    /// The elements as integers.
    /// - Throws: `NPYError` for float elements that are not whole numbers.
    public func integers() throws -> [Int] {
        func whole(_ x: Double) throws -> Int {
            guard x.rounded() == x, abs(x) < 9e15 else { throw NPYError("element \(x) is not an integer") }
            return Int(x)
        }
        switch elements {
        case .int64(let v): return v.map { Int($0) }
        case .uint8(let v): return v.map { Int($0) }
        case .float32(let v): return try v.map { try whole(Double($0)) }
        case .float64(let v): return try v.map { try whole($0) }
        }
    }

    /// The number of elements of `shape`, or nil on overflow.
    public static func product(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }
}

extension NPYArray {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads a .npy file's bytes.
    /// - Parameter maximumElements: refuse larger arrays before allocating them.
    /// - Throws: `NPYError` naming what is wrong: not .npy, big-endian, Fortran order, an element type
    ///   other than float32/float64/uint8/int64, or a data size that does not match the header.
    public init(npy data: Data, maximumElements: Int = 1 << 28) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == Self.magic else {
            throw NPYError("the magic string \\x93NUMPY is missing; write the file with numpy.save")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NPYError("the header is truncated") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw NPYError("format version \(major).\(bytes[7]) is not 1.0, 2.0 or 3.0")
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else {
            throw NPYError("the header length \(headerLength) runs past the end of the file")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let (descriptor, fortran, shape) = try Self.parseHeader(header)
        guard !fortran else {
            throw NPYError("the array is in Fortran order; save numpy.ascontiguousarray(a) instead")
        }
        guard let count = Self.product(shape), count <= maximumElements else {
            throw NPYError("shape \(shape) has more than the limit of \(maximumElements) elements")
        }
        let body = bytes[(headerStart + headerLength)...]
        func words<W: FixedWidthInteger>(_: W.Type) throws -> [W] {
            let size = MemoryLayout<W>.size
            guard body.count == count * size else {
                throw NPYError(
                    "the data holds \(body.count) bytes; shape \(shape) of \(descriptor) needs \(count * size)"
                )
            }
            return body.withUnsafeBytes { raw in
                (0..<count).map { W(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: W.self)) }
            }
        }
        let elements: Elements
        switch descriptor {
        case "<f4": elements = .float32(try words(UInt32.self).map { Float(bitPattern: $0) })
        case "<f8": elements = .float64(try words(UInt64.self).map { Double(bitPattern: $0) })
        case "|u1", "<u1": elements = .uint8(try words(UInt8.self))
        case "<i8": elements = .int64(try words(UInt64.self).map { Int64(bitPattern: $0) })
        case let d where d.hasPrefix(">"):
            throw NPYError("element type \(d) is big-endian; save a.astype('<\(d.dropFirst())')")
        default:
            throw NPYError(
                "element type \(descriptor) is not supported; use float32 (<f4), float64 (<f8), uint8 (|u1) "
                    + "or int64 (<i8)"
            )
        }
        try self.init(shape: shape, elements: elements)
    }

    /// Parses the header dictionary: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
    static func parseHeader(_ header: String) throws -> (String, Bool, [Int]) {
        func value(of key: String) throws -> Substring {
            guard let keyRange = header.range(of: "'\(key)'"),
                let colon = header[keyRange.upperBound...].firstIndex(of: ":")
            else { throw NPYError("the header has no '\(key)': \(header)") }
            return header[header.index(after: colon)...].drop { $0 == " " }
        }
        let descrValue = try value(of: "descr")
        guard descrValue.first == "'" || descrValue.first == "\"",
            let close = descrValue.dropFirst().firstIndex(of: descrValue.first ?? "'")
        else { throw NPYError("the header's descr is not a string: \(header)") }
        let descriptor = String(descrValue[descrValue.index(after: descrValue.startIndex)..<close])
        let fortranValue = try value(of: "fortran_order")
        let fortran: Bool
        if fortranValue.hasPrefix("True") {
            fortran = true
        } else if fortranValue.hasPrefix("False") {
            fortran = false
        } else {
            throw NPYError("the header's fortran_order is not True or False: \(header)")
        }
        let shapeValue = try value(of: "shape")
        guard shapeValue.first == "(", let end = shapeValue.firstIndex(of: ")") else {
            throw NPYError("the header's shape is not a tuple: \(header)")
        }
        let inner = shapeValue[shapeValue.index(after: shapeValue.startIndex)..<end]
        let shape = try inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }.map { text -> Int in
            guard let d = Int(text), d >= 0 else { throw NPYError("the shape has a bad dimension '\(text)'") }
            return d
        }
        return (descriptor, fortran, shape)
    }

    /// The array as .npy bytes (version 1.0; 3.0 is never needed for these headers).
    public func npyData() -> Data {
        let shapeText =
            shape.isEmpty
            ? "()" : shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(elements.descriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data(Self.magic + [1, 0])
        let length = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        out.append(contentsOf: Array(header.utf8))
        func append<W: FixedWidthInteger>(_ values: [W]) {
            let little = values.map { $0.littleEndian }
            little.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        switch elements {
        case .float32(let v): append(v.map(\.bitPattern))
        case .float64(let v): append(v.map(\.bitPattern))
        case .uint8(let v): out.append(contentsOf: v)
        case .int64(let v): append(v)
        }
        return out
    }
}
