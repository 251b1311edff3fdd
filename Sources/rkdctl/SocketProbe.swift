import Glibc

/// Connects to a Unix-domain socket and hangs up at once, to learn why gRPC could not reach it.
///
/// gRPC reports a failed connection as UNAVAILABLE with the system error hidden in a SwiftNIO `IOError`;
/// rkdctl does not link SwiftNIO's API, so it asks the kernel itself with connect(2), which fails with
/// the same errno: ENOENT (no socket file), ECONNREFUSED (a file nobody listens on), EACCES (the socket's
/// mode or a directory on the path keeps the caller out).
enum SocketProbe {
    enum Outcome: Equatable, Sendable {
        /// Something accepted the connection.
        case accepting
        /// connect(2) (or socket(2)) failed with this errno.
        case failed(errno: Int32)
    }

    static func probe(_ path: String) -> Outcome {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return .failed(errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .failed(errno: errno) }
        defer { close(descriptor) }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 ? .accepting : .failed(errno: errno)
    }

    /// The C library's text for an errno, e.g. "No such file or directory".
    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
