import DaemonAPI
import GRPCCore
import Jobs
import Logging

/// The Submit RPCs, and the RPCs whose work arrives later (reports, teachers, data sets). A Submit RPC
/// queues a job only when the daemon has an executor for its kind (``DaemonContext/executors``);
/// otherwise it, like the others here, answers UNIMPLEMENTED with what is missing, rather than
/// accepting jobs nothing can run.
extension DaemonService {
    static func pending(_ what: String) -> RPCError {
        RPCError(
            code: .unimplemented,
            message: "\(what) is not implemented in rkdd \(DaemonContext.version) yet; "
                + "today the daemon serves UploadModel, InspectModel, Predict, ListDatasets, audits and the job RPCs"
        )
    }

    public func submitAudit(
        request: ServerRequest<Rkd_V1_SubmitAuditRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> {
        let message = request.message
        return try await submit(
            .audit,
            pending: "SubmitAudit (robustness audits)",
            metadata: request.metadata,
            modelDigest: message.modelDigest,
            requestID: message.requestID
        ) { seed in .audit(try ProtoMapping.auditSpec(message.spec, seed: seed)) }
    }

    public func submitHarden(
        request: ServerRequest<Rkd_V1_SubmitHardenRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> {
        let message = request.message
        return try await submit(
            .harden,
            pending: "SubmitHarden (Robust-KD hardening)",
            metadata: request.metadata,
            modelDigest: message.modelDigest,
            requestID: message.requestID
        ) { seed in .harden(try ProtoMapping.hardenSpec(message.spec, seed: seed)) }
    }

    public func submitTeacherTraining(
        request: ServerRequest<Rkd_V1_SubmitTeacherTrainingRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> {
        let message = request.message
        return try await submit(
            .teacherTraining,
            pending: "SubmitTeacherTraining (PGD-AT teachers)",
            metadata: request.metadata,
            modelDigest: nil,
            requestID: message.requestID
        ) { seed in .teacherTraining(try ProtoMapping.teacherTrainingSpec(message.spec, seed: seed)) }
    }

    /// Queues a job of `kind` when this daemon has an executor for it, UNIMPLEMENTED otherwise: maps
    /// the spec (defaults filled in), checks it and that the model is stored, then stores the job
    /// (RESOURCE_EXHAUSTED when the queue is full). The job runs later; the call returns at once.
    func submit(
        _ kind: JobKind,
        pending what: String,
        metadata: Metadata,
        modelDigest: String?,
        requestID: String,
        spec makeSpec: (_ seed: () -> UInt64) throws -> JobSpec
    ) async throws -> ServerResponse<Rkd_V1_Job> {
        guard context.executors[kind] != nil else { throw Self.pending(what) }
        return try await RPCErrorMapping.mapping {
            let caller = try Self.caller(metadata)
            // A seed the request leaves unset is picked here; with a request id it follows from the caller
            // and the id, so that a retried request maps to the same spec and finds its job.
            let derivedSeed: UInt64? =
                requestID.isEmpty
                ? nil
                : SHA256.hash(Array("\(caller.uid):\(requestID)".utf8)).bytes.prefix(8)
                    .reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let spec = try makeSpec { derivedSeed ?? UInt64.random(in: 0...UInt64.max) }
            do {
                try spec.validate()
            } catch let error as JobSpecError {
                throw RPCError(code: .invalidArgument, message: error.description)
            }
            if let modelDigest {
                guard let digest = SHA256Digest(hex: modelDigest) else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "model_digest '\(modelDigest)' is not a SHA-256 (64 hex digits); upload the model "
                            + "with UploadModel and pass the digest it returns"
                    )
                }
                guard self.context.artifacts.hasModel(digest: digest) else {
                    throw RPCError(
                        code: .notFound,
                        message: "no model with digest \(modelDigest) is stored; upload it first with UploadModel "
                            + "(rkdctl uploads it for you)"
                    )
                }
            }
            if case .audit(let audit) = spec, let uploaded = audit.data.uploaded {
                for digest in [uploaded.inputsDigest, uploaded.labelsDigest] {
                    guard let parsed = SHA256Digest(hex: digest), self.context.artifacts.hasModel(digest: parsed) else {
                        throw RPCError(
                            code: .notFound,
                            message: "no file with digest \(digest) is stored; upload the .npy file first with "
                                + "UploadModel (rkdctl audit --inputs/--labels does it for you)"
                        )
                    }
                }
            }
            let result = try await self.context.store.submit(
                JobSubmission(
                    ownerUID: caller.uid,
                    spec: spec,
                    modelDigest: modelDigest.flatMap { SHA256Digest(hex: $0)?.hex },
                    requestID: requestID.isEmpty ? nil : requestID
                )
            )
            if result.isNew {
                self.context.logger.info(
                    "job queued",
                    metadata: [
                        "job.id": "\(result.job.id)", "job.kind": "\(kind.rawValue)", "caller.uid": "\(caller.uid)",
                    ]
                )
            }
            return ServerResponse(message: try await ProtoMapping.job(result.job, self.context))
        }
    }

    public func listTeachers(
        request: ServerRequest<Rkd_V1_ListTeachersRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_ListTeachersResponse> { throw Self.pending("ListTeachers (teacher store)") }

    public func importTeacher(
        request: ServerRequest<Rkd_V1_ImportTeacherRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Teacher> { throw Self.pending("ImportTeacher (teacher store)") }
}
