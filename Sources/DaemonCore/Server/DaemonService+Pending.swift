import DaemonAPI
import Datasets
import GRPCCore
import Jobs
import Logging
import ONNXInterop

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
        ) { seed in
            .harden(
                try ProtoMapping.hardenSpec(message.spec, seed: seed) { name in
                    (try? self.context.teachers.entry(name)).map { ($0.manifest.norm, $0.manifest.epsilon) }
                }
            )
        }
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
            if case .teacherTraining(let teacher) = spec { try self.checkTeacherTraining(teacher) }
            if case .harden(let harden) = spec, let modelDigest {
                try self.checkHarden(harden, modelDigest: modelDigest)
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

    /// Refuses, at submit, a hardening job whose teacher is not stored or does not fit the model (its
    /// input shape and range), or whose data set is missing or does not fit the model.
    func checkHarden(_ spec: HardenSpec, modelDigest: String) throws {
        let info: DatasetInfo
        do {
            info = try context.datasets.info(named: spec.data.name)
        } catch {
            throw RPCError(code: .invalidArgument, message: "spec.data.name: \(error.message)")
        }
        guard info.available else {
            throw RPCError(
                code: .failedPrecondition,
                message: "data set '\(spec.data.name)' is not installed on the daemon's machine: \(info.installHint)"
            )
        }
        let declared = SHA256Digest(hex: modelDigest).flatMap { digest in
            try? ONNXModel(
                contentsOf: context.artifacts.modelURL(digest: digest),
                limits: context.configuration.importLimits
            )
            .summary.inputs.first?.shape
        }
        let modelShape: [Int]? = declared.flatMap { dimensions in
            let sizes = dimensions.dropFirst().map { dimension -> Int? in
                if case .size(let n) = dimension, n > 0 { return n }
                return nil
            }
            return sizes.count == 3 && sizes.allSatisfy { $0 != nil } ? sizes.compactMap { $0 } : nil
        }
        if let modelShape, modelShape != info.exampleShape {
            throw RPCError(
                code: .invalidArgument,
                message: "the model takes inputs of shape \(modelShape) but \(spec.data.name) has examples of shape "
                    + "\(info.exampleShape); harden it on a data set of its input shape (--data)"
            )
        }
        guard let name = spec.teacher,
            spec.method == .robustKD || spec.method == .shafahi || spec.initialization == .teacher
        else { return }
        let teacher: TeacherStore.Entry
        do {
            teacher = try context.teachers.entry(name)
        } catch {
            throw RPCError(code: .notFound, message: "spec.teacher: \(error.message)")
        }
        let manifest = teacher.manifest
        if manifest.inputShape != info.exampleShape || (modelShape.map { $0 != manifest.inputShape } ?? false) {
            throw RPCError(
                code: .invalidArgument,
                message:
                    "teacher '\(name)' takes inputs of shape \(manifest.inputShape) but the model and \(spec.data.name) "
                    + "have \(modelShape ?? info.exampleShape); choose a teacher trained on images of the model's size "
                    + "(rkdctl teacher list)"
            )
        }
        guard manifest.inputMin == 0, manifest.inputMax == 1 else {
            throw RPCError(
                code: .invalidArgument,
                message: "teacher '\(name)' expects inputs in [\(manifest.inputMin), \(manifest.inputMax)]; rkd feeds "
                    + "teacher and model the same [0, 1] pixels, so the teacher must take [0, 1] inputs"
            )
        }
    }

    /// Refuses, at submit, a teacher-training job whose name is taken or whose data set is missing.
    func checkTeacherTraining(_ spec: TeacherTrainingSpec) throws {
        if (try? context.teachers.entry(spec.name)) != nil {
            throw RPCError(
                code: .alreadyExists,
                message: "a teacher named '\(spec.name)' is already stored; choose another name or remove it first "
                    + "(rkdctl teacher remove \(spec.name))"
            )
        }
        do {
            let info = try context.datasets.info(named: spec.data.name)
            guard info.available else {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "data set '\(spec.data.name)' is not installed on the daemon's machine: \(info.installHint)"
                )
            }
        } catch let error as DatasetError {
            throw RPCError(code: .invalidArgument, message: "spec.data.name: \(error.message)")
        }
    }
}
