import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file being written under a temporary name in its final directory, made visible under its final
/// name only once complete and on disk: write, `fsync`, `rename`, `fsync` the directory. A crash at any
/// point leaves either nothing (or the old file) or the whole new file under the final name, plus at
/// worst a temporary file that ``ArtifactStore`` removes when it opens.
final class DurableFile {
    /// Temporary files start with this, so that leftovers from a crash can be recognised.
    static let temporaryPrefix = ".tmp-"

    let directory: URL
    let temporaryURL: URL
    private var descriptor: Int32
    private var isFinished = false
    private(set) var bytesWritten = 0

    /// Creates an empty temporary file in `directory`.
    init(directory: URL) throws(ArtifactStoreError) {
        self.directory = directory
        temporaryURL = directory.appendingPathComponent(
            "\(Self.temporaryPrefix)\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        )
        descriptor = open(temporaryURL.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw ArtifactStoreError(operation: "create a file in", path: directory.path, errno: errno)
        }
    }

    /// Adopts an open descriptor for `temporaryURL`; tests use it to write to devices such as /dev/full.
    init(directory: URL, temporaryURL: URL, descriptor: Int32) {
        self.directory = directory
        self.temporaryURL = temporaryURL
        self.descriptor = descriptor
    }

    deinit {
        discard()
    }

    /// Appends bytes.
    func write(_ bytes: UnsafeRawBufferPointer) throws(ArtifactStoreError) {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = Glibc.write(descriptor, pointer, remaining)
            if written < 0 {
                let number = errno
                if number == EINTR { continue }
                discard()
                throw ArtifactStoreError(operation: "write", path: temporaryURL.path, errno: number)
            }
            remaining -= written
            pointer += written
            bytesWritten += written
        }
    }

    /// Appends bytes.
    func write(_ data: Data) throws(ArtifactStoreError) {
        // `withUnsafeBytes` rethrows untyped errors; carry the typed one out as a value.
        let result = data.withUnsafeBytes { buffer -> Result<Void, ArtifactStoreError> in
            do throws(ArtifactStoreError) {
                try write(buffer)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Flushes the file to disk and renames it to `url` (in the same directory), replacing any file there,
    /// then flushes the directory so the rename survives a crash.
    func commit(as url: URL) throws(ArtifactStoreError) {
        guard fsync(descriptor) == 0 else {
            let number = errno
            discard()
            throw ArtifactStoreError(operation: "flush", path: temporaryURL.path, errno: number)
        }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else {
            let number = errno
            discard()
            throw ArtifactStoreError(operation: "close", path: temporaryURL.path, errno: number)
        }
        guard rename(temporaryURL.path, url.path) == 0 else {
            let number = errno
            discard()
            throw ArtifactStoreError(operation: "rename a file to", path: url.path, errno: number)
        }
        isFinished = true
        try Self.syncDirectory(directory)
    }

    /// Closes and deletes the temporary file; nothing under a final name changes.
    func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        if !isFinished {
            isFinished = true
            unlink(temporaryURL.path)
        }
    }

    /// Flushes a directory's entries (new names, renames) to disk.
    static func syncDirectory(_ directory: URL) throws(ArtifactStoreError) {
        let descriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ArtifactStoreError(operation: "open the directory", path: directory.path, errno: errno)
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw ArtifactStoreError(operation: "flush the directory", path: directory.path, errno: errno)
        }
    }

    /// Creates `directory` (mode 0750) if it is missing and makes its entry durable in its parent.
    static func ensureDirectory(_ directory: URL) throws(ArtifactStoreError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ArtifactStoreError(
                    .io,
                    "\(directory.path) exists but is not a directory; move it away",
                    errno: ENOTDIR
                )
            }
            return
        }
        let parent = directory.deletingLastPathComponent()
        try ensureDirectory(parent)
        if mkdir(directory.path, 0o750) != 0 && errno != EEXIST {
            throw ArtifactStoreError(operation: "create the directory", path: directory.path, errno: errno)
        }
        try syncDirectory(parent)
    }
}
