import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's files under the state directory:
///
/// ```
/// models/<sha256>.onnx          uploaded models, named by the SHA-256 of their bytes (stored once)
/// reports/<job id>/<name>       reports
/// checkpoints/<job id>/<name>   training and audit checkpoints
/// teachers/<name>/<file>        teachers: the ONNX file and its manifest
/// ```
///
/// Every file is written under a temporary name in its final directory, flushed, renamed into place and
/// the directory flushed (``DurableFile``): after a crash a name holds a whole file or nothing new.
/// Opening the store deletes the temporary files a crash left behind.
public struct ArtifactStore: Sendable {
    /// Where a job's or a teacher's file lives.
    public enum Location: Hashable, Sendable {
        /// A report of a job, e.g. `report.json`.
        case report(jobID: String, name: String)
        /// A checkpoint of a job.
        case checkpoint(jobID: String, name: String)
        /// A teacher's file, e.g. `teacher.onnx` or `manifest.json`.
        case teacher(name: String, file: String)
    }

    /// The state directory.
    public let root: URL
    /// How many temporary files from interrupted writes opening the store deleted.
    public let removedTemporaryFiles: Int

    /// The subdirectories of the state directory the store manages.
    static let areas = ["models", "reports", "checkpoints", "teachers"]

    /// Opens the store in the state directory `root`, creating its subdirectories, and deletes
    /// leftover temporary files.
    public init(root: URL) throws(ArtifactStoreError) {
        self.root = root
        var removed = 0
        for area in Self.areas {
            let directory = root.appendingPathComponent(area)
            try DurableFile.ensureDirectory(directory)
            removed += Self.removeTemporaryFiles(under: directory)
        }
        removedTemporaryFiles = removed
    }

    // MARK: - Models

    /// Where the model with this digest is (or would be) stored.
    public func modelURL(digest: SHA256Digest) -> URL {
        root.appendingPathComponent("models").appendingPathComponent("\(digest.hex).onnx")
    }

    /// Whether a model with this digest is stored.
    public func hasModel(digest: SHA256Digest) -> Bool {
        FileManager.default.fileExists(atPath: modelURL(digest: digest).path)
    }

    /// Starts receiving a model; at most `limit` bytes are accepted.
    public func beginModelUpload(limit: Int) throws(ArtifactStoreError) -> ModelUpload {
        try ModelUpload(store: self, limit: limit)
    }

    /// Stores a model given in one piece (see ``ModelUpload`` for streams).
    public func storeModel(_ bytes: Data, limit: Int = .max) throws(ArtifactStoreError) -> StoredModel {
        let upload = try beginModelUpload(limit: limit)
        try upload.append(bytes)
        return try upload.finish()
    }

    /// The bytes of a stored model.
    public func readModel(digest: SHA256Digest) throws(ArtifactStoreError) -> Data {
        try Self.read(modelURL(digest: digest), what: "model \(digest.hex)")
    }

    // MARK: - Reports, checkpoints, teachers

    /// The file's place, relative to the state directory: what ``JobArtifact/relativePath`` records.
    public func relativePath(of location: Location) throws(ArtifactStoreError) -> String {
        let (area, directory, name) =
            switch location {
            case .report(let jobID, let name): ("reports", jobID, name)
            case .checkpoint(let jobID, let name): ("checkpoints", jobID, name)
            case .teacher(let teacher, let file): ("teachers", teacher, file)
            }
        try Self.checkComponent(directory)
        try Self.checkComponent(name)
        return "\(area)/\(directory)/\(name)"
    }

    /// The file's absolute URL.
    public func url(of location: Location) throws(ArtifactStoreError) -> URL {
        root.appendingPathComponent(try relativePath(of: location))
    }

    /// Writes a whole file durably, replacing any file at the location.
    /// - Returns: what to record with ``JobStore/recordArtifact(jobID:_:)``, less the name and media type.
    @discardableResult
    public func write(_ bytes: Data, to location: Location) throws(ArtifactStoreError) -> StoredFile {
        let relative = try relativePath(of: location)
        let url = root.appendingPathComponent(relative)
        let directory = url.deletingLastPathComponent()
        try DurableFile.ensureDirectory(directory)
        let file = try DurableFile(directory: directory)
        try file.write(bytes)
        try file.commit(as: url)
        return StoredFile(relativePath: relative, size: bytes.count, sha256: SHA256.hash(bytes))
    }

    /// The bytes of a stored file.
    public func read(_ location: Location) throws(ArtifactStoreError) -> Data {
        try Self.read(try url(of: location), what: try relativePath(of: location))
    }

    /// Deletes a job's checkpoints, e.g. once the job has finished.
    public func removeCheckpoints(jobID: String) throws(ArtifactStoreError) {
        try Self.checkComponent(jobID)
        let directory = root.appendingPathComponent("checkpoints").appendingPathComponent(jobID)
        guard FileManager.default.fileExists(atPath: directory.path) else { return }
        do {
            try FileManager.default.removeItem(at: directory)
        } catch {
            throw ArtifactStoreError(.io, "cannot delete \(directory.path): \(error)")
        }
        try DurableFile.syncDirectory(directory.deletingLastPathComponent())
    }

    // MARK: - Helpers

    /// A file or directory name must be a single, visible path component.
    static func checkComponent(_ name: String) throws(ArtifactStoreError) {
        guard !name.isEmpty, name.utf8.count <= 255, !name.hasPrefix("."), !name.contains("/"),
            !name.utf8.contains(0)
        else {
            throw ArtifactStoreError(
                .invalidName,
                "'\(name)' cannot name a stored file: use 1 to 255 bytes without '/' or NUL, not starting with '.'"
            )
        }
    }

    static func read(_ url: URL, what: String) throws(ArtifactStoreError) -> Data {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let number = errno
            if number == ENOENT {
                throw ArtifactStoreError(.notFound, "\(what) is not stored", errno: number)
            }
            throw ArtifactStoreError(operation: "open", path: url.path, errno: number)
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw ArtifactStoreError(.io, "cannot read \(url.path): \(error)")
        }
    }

    /// Deletes files named like ``DurableFile``'s temporary files under `directory`.
    private static func removeTemporaryFiles(under directory: URL) -> Int {
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return 0 }
        var removed = 0
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(DurableFile.temporaryPrefix),
                unlink(directory.appendingPathComponent(relative).path) == 0
            {
                removed += 1
            }
        }
        return removed
    }
}

/// A stored model.
public struct StoredModel: Hashable, Sendable {
    /// The SHA-256 of its bytes: its name.
    public var digest: SHA256Digest
    /// Its size in bytes.
    public var size: Int
    /// True when the same bytes were already stored and nothing was written.
    public var alreadyStored: Bool
}

/// A file written by ``ArtifactStore/write(_:to:)``.
public struct StoredFile: Hashable, Sendable {
    /// The path relative to the state directory.
    public var relativePath: String
    /// The size in bytes.
    public var size: Int
    /// The SHA-256 of the bytes.
    public var sha256: SHA256Digest
}
