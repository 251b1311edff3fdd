import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that after a crash the path holds either the old contents or the new ones,
/// never a mixture: a temporary file in the same directory, written and `fsync`ed, renamed over
/// the path, and then the directory `fsync`ed so that the rename itself is durable. NN's
/// checkpoints and ONNXInterop's exported models both write through it; each wraps the failure in
/// its own error type.
public enum DurableFile {
    /// Why a durable write failed: a sentence naming the step and what to check.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The underlying error, if one was thrown.
        public let cause: (any Error)?
    }

    /// Replaces the file at `url` with `data`. On failure the temporary file is removed.
    public static func write(_ data: Data, to url: URL) throws(Failure) {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Failure(
                description: "cannot create \(temporary.path): \(lastErrorMessage()); check that "
                    + "\(directory.path) exists and is writable",
                cause: nil
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
            throw Failure(
                description: "writing \(data.count) bytes to \(temporary.path) failed "
                    + "(\(error.localizedDescription)); check free space and the disk",
                cause: error
            )
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = lastErrorMessage()
            try? FileManager.default.removeItem(at: temporary)
            throw Failure(description: "cannot rename \(temporary.path) to \(url.path): \(reason)", cause: nil)
        }
        try syncDirectory(directory, renamed: url)
    }

    /// `fsync`s a directory, making the rename of `renamed` inside it durable.
    private static func syncDirectory(_ directory: URL, renamed: URL) throws(Failure) {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw Failure(
                description: "cannot open directory \(directory.path) to sync it: \(lastErrorMessage())",
                cause: nil
            )
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw Failure(
                description: "fsync of directory \(directory.path) failed: \(lastErrorMessage()); "
                    + "\(renamed.path) was renamed into place but may not survive a crash, so write it again",
                cause: nil
            )
        }
    }

    private static func lastErrorMessage() -> String {
        String(cString: strerror(errno))
    }
}
