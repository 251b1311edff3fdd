import Foundation

/// A model arriving in chunks (the `UploadModel` stream): written to a temporary file and hashed as
/// it comes, then stored under its digest by ``finish(expectedSize:expectedSHA256:)``. If the upload
/// is abandoned, fails or is dropped before it finishes, the temporary file is deleted and nothing is
/// stored.
public final class ModelUpload {
    private let store: ArtifactStore
    private let file: DurableFile
    private var hasher = SHA256()
    private var finished = false

    /// The most bytes accepted.
    public let limit: Int
    /// The bytes received so far.
    public var size: Int { file.bytesWritten }

    init(store: ArtifactStore, limit: Int) throws(ArtifactStoreError) {
        self.store = store
        self.limit = limit
        file = try DurableFile(directory: store.root.appendingPathComponent("models"))
    }

    /// Appends the next chunk.
    /// - Throws: ``ArtifactStoreError``: `tooLarge` past the limit (the upload is abandoned), `noSpace`,
    ///   `permissionDenied`, `io`.
    public func append(_ chunk: Data) throws(ArtifactStoreError) {
        guard !finished else {
            throw ArtifactStoreError(.io, "the upload has already finished or failed; start a new one")
        }
        guard chunk.count <= limit - size else {
            abandon()
            throw ArtifactStoreError(
                .tooLarge,
                "the model is larger than the upload limit of \(limit) bytes; raise the limit in the daemon's "
                    + "configuration or upload a smaller model; nothing was stored"
            )
        }
        do throws(ArtifactStoreError) {
            try file.write(chunk)
        } catch {
            finished = true
            throw error
        }
        chunk.withUnsafeBytes { hasher.update($0) }
    }

    /// Completes the upload: checks the size and digest if the client announced them, then stores the
    /// file as `models/<sha256>.onnx` unless the same bytes are stored already.
    /// - Throws: ``ArtifactStoreError``: `io` for a size mismatch, `digestMismatch`, or the errors of a
    ///   failed flush or rename. Nothing is stored then.
    public func finish(
        expectedSize: Int? = nil,
        expectedSHA256: SHA256Digest? = nil
    ) throws(ArtifactStoreError)
        -> StoredModel
    {
        guard !finished else {
            throw ArtifactStoreError(.io, "the upload has already finished or failed; start a new one")
        }
        finished = true
        if let expectedSize, expectedSize != size {
            file.discard()
            throw ArtifactStoreError(
                .io,
                "the upload announced \(expectedSize) bytes but \(size) arrived; upload the file again"
            )
        }
        let digest = hasher.finalize()
        if let expectedSHA256, expectedSHA256 != digest {
            file.discard()
            throw ArtifactStoreError(
                .digestMismatch,
                "the bytes received hash to \(digest.hex), not the announced \(expectedSHA256.hex); the file "
                    + "was corrupted on the way or the digest is wrong; nothing was stored"
            )
        }
        if store.hasModel(digest: digest) {
            file.discard()
            return StoredModel(digest: digest, size: size, alreadyStored: true)
        }
        try file.commit(as: store.modelURL(digest: digest))
        return StoredModel(digest: digest, size: size, alreadyStored: false)
    }

    /// Gives up: deletes what was received.
    public func abandon() {
        finished = true
        file.discard()
    }
}
