import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that after a crash the path holds either the old contents or the new ones,
/// never a mixture: a temporary file in the same directory, written and `fsync`ed, renamed over
/// the path, and then the directory `fsync`ed so that the rename itself is durable.
enum DurableFile {
    /// Replaces the file at `url` with `data`.
    /// - Throws: ``CheckpointError`` with code `io`, naming the step that failed.
    static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CheckpointError(
                .io,
                "cannot create \(temporary.path): \(lastErrorMessage()); check that \(directory.path) exists "
                    + "and is writable"
            )
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw CheckpointError(
                .io,
                "writing \(data.count) bytes to \(temporary.path) failed; check free space and the disk",
                cause: error
            )
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = lastErrorMessage()
            try? FileManager.default.removeItem(at: temporary)
            throw CheckpointError(.io, "cannot rename \(temporary.path) to \(url.path): \(reason)")
        }
        try syncDirectory(directory)
    }

    /// `fsync`s a directory, making renames inside it durable.
    private static func syncDirectory(_ directory: URL) throws {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(.io, "cannot open directory \(directory.path) to sync it: \(lastErrorMessage())")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw CheckpointError(
                .io,
                "fsync of directory \(directory.path) failed: \(lastErrorMessage()); the file was renamed "
                    + "into place but may not survive a crash, so write it again"
            )
        }
    }

    private static func lastErrorMessage() -> String {
        String(cString: strerror(errno))
    }
}
