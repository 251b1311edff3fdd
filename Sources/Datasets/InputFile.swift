#if canImport(Glibc)
import Glibc
#endif

/// A regular file open for reading, read in chunks with POSIX calls; closed when released.
final class InputFile {
    let path: String
    private let descriptor: Int32

    /// Opens `path`.
    /// - Throws: `.missingFile` when there is no such file, `.io` when it cannot be opened or is not a regular file.
    init(path: String) throws(DatasetError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let number = errno
            if number == ENOENT {
                throw DatasetError(.missingFile, "\(path) does not exist", path: path, errno: number)
            }
            throw DatasetError(operation: "open", path: path, errno: number)
        }
        self.path = path
        self.descriptor = descriptor
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw DatasetError(operation: "stat", path: path, errno: errno)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw DatasetError(.io, "\(path) is not a regular file", path: path)
        }
    }

    deinit { close(descriptor) }

    /// The file's size in bytes now.
    func size() throws(DatasetError) -> Int {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw DatasetError(operation: "stat", path: path, errno: errno)
        }
        return Int(status.st_size)
    }

    /// Reads up to `buffer.count` bytes; returns how many, 0 at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = Glibc.read(descriptor, base, buffer.count)
            if count >= 0 { return count }
            let number = errno
            if number != EINTR { throw DatasetError(operation: "read", path: path, errno: number) }
        }
    }

    /// Up to `count` bytes at `offset`, without moving the file position.
    func bytes(at offset: Int, count: Int) throws(DatasetError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { buffer in
            var total = 0
            while total < count {
                let n = pread(descriptor, buffer.baseAddress.map { $0 + total }, count - total, off_t(offset + total))
                if n > 0 {
                    total += n
                } else if n == 0 || errno != EINTR {
                    return n < 0 ? -Int(errno) : total
                }
            }
            return total
        }
        guard read >= 0 else { throw DatasetError(operation: "read", path: path, errno: Int32(-read)) }
        return Array(bytes.prefix(read))
    }

    /// Calls `body` with successive chunks of the file until the end of the file or until `body`
    /// returns false.
    func forEachChunk(
        size chunkSize: Int = 1 << 20,
        _ body: (UnsafeBufferPointer<UInt8>) throws(DatasetError) -> Bool
    ) throws(DatasetError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { return }
            let chunk = UnsafeBufferPointer(rebasing: buffer.bindMemory(to: UInt8.self)[0..<count])
            guard try body(chunk) else { return }
        }
    }

    /// The whole file, refused before reading when it is larger than `limit` bytes.
    func readAll(limit: Int) throws(DatasetError) -> [UInt8] {
        let expected = try size()
        guard expected <= limit else {
            throw DatasetError(
                .tooLarge,
                "\(path) holds \(expected) bytes, more than the limit of \(limit) (DatasetLimits.maximumFileBytes)",
                path: path
            )
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expected)
        try forEachChunk { chunk throws(DatasetError) in
            guard bytes.count + chunk.count <= limit else {
                throw DatasetError(.tooLarge, "\(path) grew past the limit of \(limit) bytes while read", path: path)
            }
            bytes.append(contentsOf: chunk)
            return true
        }
        return bytes
    }

    /// Whether `path` names an existing regular file (following symbolic links).
    static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    /// The size of the regular file at `path`, or nil when there is none.
    static func sizeOfRegularFile(_ path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(status.st_size)
    }
}
