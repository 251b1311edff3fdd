/// Why bytes are not an array rkd can read, with what to do about it.
public struct NPYError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "not a readable .npy file: \(message)" }
}
