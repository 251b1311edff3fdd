import DaemonAPI
import Foundation
import GRPCCore
import Jobs

extension DaemonService {
    public func downloadArtifact(
        request: ServerRequest<Rkd_V1_DownloadArtifactRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Rkd_V1_DownloadArtifactResponse> {
        try await RPCErrorMapping.mapping {
            let caller = try Self.caller(request.metadata)
            let job = try await job(request.message.jobID)
            try Authorization.requireOwnerOrRoot(caller, of: job, to: "read its artifacts")
            let artifacts = try await self.context.store.artifacts(jobID: job.id)
            guard let artifact = artifacts.first(where: { $0.name == request.message.name }) else {
                throw RPCError(
                    code: .notFound,
                    message: "job \(job.id) has no artifact '\(request.message.name)'; it has "
                        + "\(artifacts.map(\.name))"
                )
            }
            let url = self.context.artifacts.root.appendingPathComponent(artifact.relativePath)
            let handle: FileHandle
            do {
                handle = try FileHandle(forReadingFrom: url)
            } catch {
                throw RPCError(code: .internalError, message: "artifact \(artifact.name) is recorded but unreadable")
            }
            return StreamingServerResponse { writer in
                defer { try? handle.close() }
                var info = Rkd_V1_DownloadArtifactResponse()
                var a = Rkd_V1_Artifact()
                a.name = artifact.name
                a.sizeBytes = UInt64(artifact.size)
                a.sha256 = artifact.sha256
                a.mediaType = artifact.mediaType
                info.info.artifact = a
                try await writer.write(info)
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    var part = Rkd_V1_DownloadArtifactResponse()
                    part.chunk = chunk
                    try await writer.write(part)
                }
                return [:]
            }
        }
    }
}
