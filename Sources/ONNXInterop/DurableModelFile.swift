import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes an exported model so that after a crash the path holds either the old file or the new
/// one, never a mixture: a temporary file in the same directory is written and `fsync`ed, renamed
/// over the path, and the directory `fsync`ed so that the rename itself is durable.
enum DurableModelFile {
    /// Replaces the file at `url` with `data`.
    /// - Throws: `ONNXError` `.io`, naming the step that failed; the temporary file is removed.
    static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ONNXError(
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
            throw ONNXError(
                .io,
                "writing \(data.count) bytes to \(temporary.path) failed (\(error.localizedDescription)); "
                    + "check free space and the disk"
            )
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = lastErrorMessage()
            try? FileManager.default.removeItem(at: temporary)
            throw ONNXError(.io, "cannot rename \(temporary.path) to \(url.path): \(reason)")
        }
        let directoryFD = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else {
            throw ONNXError(.io, "cannot open directory \(directory.path) to sync it: \(lastErrorMessage())")
        }
        defer { close(directoryFD) }
        guard fsync(directoryFD) == 0 else {
            throw ONNXError(
                .io,
                "fsync of directory \(directory.path) failed: \(lastErrorMessage()); \(url.path) was renamed "
                    + "into place but may not survive a crash, so write it again"
            )
        }
    }

    private static func lastErrorMessage() -> String {
        String(cString: strerror(errno))
    }
}
