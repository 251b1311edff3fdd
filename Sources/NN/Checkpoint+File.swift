import Foundation

extension Checkpoint {
    /// Writes the checkpoint to `url` atomically and durably: a temporary file in the same
    /// directory is written and `fsync`ed, renamed over `url`, and the directory `fsync`ed. A
    /// crash leaves either the previous file or the new one.
    /// - Throws: ``CheckpointError`` with code `io`.
    public func write(to url: URL) throws {
        let bytes = try encoded()
        do {
            try DurableFile.write(bytes, to: url)
        } catch {
            throw CheckpointError(.io, error.description, cause: error.cause)
        }
    }

    /// Reads and validates the checkpoint at `url`.
    /// - Throws: ``CheckpointError``: `notFound`, `io`, or a format error from ``init(decoding:)``.
    public static func read(from url: URL) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CheckpointError(.notFound, "there is no checkpoint at \(url.path); check the path")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CheckpointError(.io, "cannot read \(url.path); check its permissions", cause: error)
        }
        do {
            return try Checkpoint(decoding: data)
        } catch var error as CheckpointError {
            error.message = "\(url.path): \(error.message)"
            throw error
        }
    }
}
