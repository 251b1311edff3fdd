import DaemonAPI
import Foundation
import GRPCCore
import SwiftProtobuf

/// A local file rkdctl sends to the daemon: checked before any connection is made, so that a typo gives
/// a clear error whether or not a daemon runs.
struct LocalFile: Sendable {
    let path: String
    let size: UInt64

    /// - Throws: `CLIError` (exit 5) when the file is missing, (exit 6) when it is a directory or unreadable.
    init(_ path: String, what: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError(.notFound, "\(what) \(path) does not exist")
        }
        guard !isDirectory.boolValue else {
            throw CLIError(.invalidInput, "\(what) \(path) is a directory, not a file")
        }
        guard FileManager.default.isReadableFile(atPath: path),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = (attributes[.size] as? NSNumber)?.uint64Value
        else { throw CLIError(.invalidInput, "\(what) \(path) cannot be read (check its permissions)") }
        self.path = path
        self.size = size
    }

    /// The whole file.
    func contents() throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CLIError(.invalidInput, "cannot read \(path): \(error.localizedDescription)")
        }
    }
}

extension DaemonClient {
    /// The largest chunk UploadModel takes.
    static let uploadChunkSize = 1 << 20

    /// Streams a model file to the daemon (UploadModel): a header with the name and size, then chunks of
    /// at most 1 MiB. The daemon computes and returns the SHA-256 digest.
    func upload(_ file: LocalFile) async throws -> Rkd_V1_UploadModelResponse {
        let path = file.path
        let size = file.size
        return try await uploadModel { writer in
            try await writer.write(
                .with {
                    $0.header = .with {
                        $0.filename = URL(fileURLWithPath: path).lastPathComponent
                        $0.sizeBytes = size
                    }
                }
            )
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CLIError(.invalidInput, "cannot open \(path)")
            }
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: Self.uploadChunkSize), !chunk.isEmpty {
                try await writer.write(.with { $0.chunk = chunk })
            }
        }
    }
}
