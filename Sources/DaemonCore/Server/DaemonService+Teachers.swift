import DaemonAPI
import Foundation
import GRPCCore
import Jobs
import Logging
import ONNXInterop
import SwiftProtobuf

/// The teacher store's RPCs: ListTeachers, ImportTeacher, RemoveTeacher and DownloadTeacher.
extension DaemonService {
    public func removeTeacher(
        request: ServerRequest<Rkd_V1_RemoveTeacherRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_RemoveTeacherResponse> {
        try await RPCErrorMapping.mapping {
            let caller = try Self.caller(request.metadata)
            let entry = try self.context.teachers.entry(request.message.name)
            try self.context.teachers.remove(request.message.name)
            self.context.logger.info(
                "teacher removed",
                metadata: ["teacher": "\(entry.name)", "caller.uid": "\(caller.uid)"]
            )
            return ServerResponse(message: .with { $0.teacher = ProtoMapping.teacher(entry) })
        }
    }

    public func downloadTeacher(
        request: ServerRequest<Rkd_V1_DownloadTeacherRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Rkd_V1_DownloadArtifactResponse> {
        try await RPCErrorMapping.mapping {
            _ = try Self.caller(request.metadata)
            let file = request.message.file.isEmpty ? TeacherStore.modelFile : request.message.file
            let (name, bytes, mediaType): (String, Data, String)
            switch file {
            case TeacherStore.modelFile:
                let model = try self.context.teachers.model(request.message.name)
                (name, bytes, mediaType) = (file, model.bytes, "application/onnx")
            case TeacherStore.manifestFile:
                let entry = try self.context.teachers.entry(request.message.name)
                (name, bytes, mediaType) = (file, try entry.manifest.encoded(), "application/json")
            default:
                throw RPCError(
                    code: .invalidArgument,
                    message: "file: '\(file)' is not a teacher file; ask for teacher.onnx or manifest.json"
                )
            }
            return StreamingServerResponse { writer in
                var info = Rkd_V1_DownloadArtifactResponse()
                info.info.artifact = .with {
                    $0.name = name
                    $0.sizeBytes = UInt64(bytes.count)
                    $0.sha256 = SHA256.hash(bytes).hex
                    $0.mediaType = mediaType
                }
                try await writer.write(info)
                var offset = 0
                while offset < bytes.count {
                    let end = min(offset + (1 << 20), bytes.count)
                    var part = Rkd_V1_DownloadArtifactResponse()
                    part.chunk = bytes.subdata(in: offset..<end)
                    try await writer.write(part)
                    offset = end
                }
                return [:]
            }
        }
    }

    public func listTeachers(
        request: ServerRequest<Rkd_V1_ListTeachersRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_ListTeachersResponse> {
        try await RPCErrorMapping.mapping {
            _ = try Self.caller(request.metadata)
            let (teachers, problems) = self.context.teachers.list()
            for problem in problems {
                self.context.logger.warning("a teacher directory cannot be read", metadata: ["problem": "\(problem)"])
            }
            return ServerResponse(message: .with { $0.teachers = teachers.map(ProtoMapping.teacher) })
        }
    }

    public func importTeacher(
        request: ServerRequest<Rkd_V1_ImportTeacherRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Teacher> {
        try await RPCErrorMapping.mapping {
            let caller = try Self.caller(request.metadata)
            let message = request.message
            guard TeacherTrainingSpec.isValidTeacherName(message.name) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "name: '\(message.name)' is not a teacher name: use 1 to 64 characters from a-z, 0-9, "
                        + "'.', '_', '-', starting with a letter or digit"
                )
            }
            guard let digest = SHA256Digest(hex: message.modelDigest), self.context.artifacts.hasModel(digest: digest)
            else {
                throw RPCError(
                    code: .notFound,
                    message: "no model with digest '\(message.modelDigest)' is stored; upload the ONNX file first "
                        + "with UploadModel (rkdctl teacher import does it for you)"
                )
            }
            guard message.hasManifest else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "manifest: missing; a teacher states its data set, input shape and range, class names "
                        + "and the threat model it was trained against"
                )
            }
            let bytes = try self.context.artifacts.readModel(digest: digest)
            let manifest = try Self.importedManifest(message, digest: digest)
            try Self.checkTeacherModel(bytes, manifest: manifest, limits: self.context.configuration.importLimits)
            let entry = try self.context.teachers.install(
                name: message.name,
                model: bytes,
                manifest: manifest,
                replace: message.replace
            )
            self.context.logger.info(
                "teacher imported",
                metadata: ["teacher": "\(message.name)", "caller.uid": "\(caller.uid)", "model.digest": "\(digest)"]
            )
            return ServerResponse(message: ProtoMapping.teacher(entry))
        }
    }

    /// The manifest of an imported teacher from the request, with every required field checked.
    static func importedManifest(
        _ message: Rkd_V1_ImportTeacherRequest,
        digest: SHA256Digest
    ) throws
        -> TeacherManifest
    {
        let stated = message.manifest
        func refuse(_ field: String, _ text: String) -> RPCError {
            RPCError(code: .invalidArgument, message: "manifest.\(field): \(text)")
        }
        guard stated.norm != .unspecified else {
            throw refuse(
                "norm",
                "the threat model is missing: state the norm and ε the teacher was trained against "
                    + "(e.g. --norm linf --eps 0.1); a teacher without one cannot be checked or distilled from"
            )
        }
        guard stated.epsilon > 0, stated.epsilon.isFinite else {
            throw refuse("epsilon", "the threat model's ε is missing or not > 0: state the training budget (--eps)")
        }
        guard stated.inputShape.count == 3, stated.inputShape.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            throw refuse(
                "input_shape",
                "\(stated.inputShape) is not [channels, height, width], e.g. [1, 28, 28] (--input-shape 1,28,28)"
            )
        }
        guard stated.inputMax > stated.inputMin else {
            throw refuse(
                "input_min/input_max",
                "the input range [\(stated.inputMin), \(stated.inputMax)] is empty: state it, e.g. 0 and 1 for "
                    + "pixels in [0, 1] (--input-range 0,1)"
            )
        }
        guard !stated.dataset.isEmpty else { throw refuse("dataset", "say what the teacher was trained on") }
        guard stated.classNames.count >= 2 else {
            throw refuse("class_names", "give one name per output class (at least 2)")
        }
        return TeacherManifest(
            name: message.name,
            dataset: stated.dataset,
            inputShape: stated.inputShape.map { Int($0) },
            inputMin: stated.inputMin,
            inputMax: stated.inputMax,
            classNames: stated.classNames,
            norm: try ProtoMapping.norm(stated.norm, field: "manifest.norm"),
            epsilon: stated.epsilon,
            architecture: stated.architecture.isEmpty ? "imported" : stated.architecture,
            recipe: stated.recipe.isEmpty ? "imported; recipe not stated" : stated.recipe,
            evaluation: stated.hasCleanAccuracy
                ? .init(
                    examples: Int(stated.evalExamples),
                    clean: stated.cleanAccuracy,
                    pgd20: stated.hasRobustAccuracy ? stated.robustAccuracy : nil,
                    autoAttack: nil,
                    seed: 0
                ) : nil,
            sha256: digest.hex,
            rkdVersion: DaemonContext.version,
            source: .imported,
            createdAt: Date()
        )
    }

    /// Imports the ONNX model and runs one example of the stated shape: the teacher must be a
    /// one-input classifier rkd can run, take that shape and have one output per class name.
    static func checkTeacherModel(_ bytes: Data, manifest: TeacherManifest, limits: ImportLimits) throws {
        var classifier: ImportedClassifier
        do {
            classifier = try ImportedClassifier(
                model: try ONNXModel.limited(bytes, limits: limits),
                preprocessing: nil,
                declaredKind: nil
            )
        } catch {
            throw RPCError(code: .invalidArgument, message: "rkd cannot run this teacher: \(error)")
        }
        do {
            try classifier.measure(exampleShape: manifest.inputShape)
        } catch {
            throw RPCError(
                code: .invalidArgument,
                message: "the teacher does not take the stated input shape \(manifest.inputShape): \(error)"
            )
        }
        guard classifier.classCount == manifest.classNames.count else {
            throw RPCError(
                code: .invalidArgument,
                message: "the teacher has \(classifier.classCount) outputs but the manifest names "
                    + "\(manifest.classNames.count) classes; give one class name per output"
            )
        }
    }
}

extension ProtoMapping {
    /// A stored teacher as the API shows it.
    static func teacher(_ entry: TeacherStore.Entry) -> Rkd_V1_Teacher {
        let manifest = entry.manifest
        return .with {
            $0.name = entry.name
            $0.modelDigest = manifest.sha256
            $0.createdAt = timestamp(manifest.createdAt)
            $0.jobID = manifest.jobID ?? ""
            $0.source =
                switch manifest.source {
                case .trained: .trained
                case .imported: .imported
                case .bundled: .bundled
                }
            $0.manifest = .with { proto in
                proto.dataset = manifest.dataset
                proto.inputShape = manifest.inputShape.map { Int64($0) }
                proto.inputMin = manifest.inputMin
                proto.inputMax = manifest.inputMax
                proto.classNames = manifest.classNames
                proto.norm = manifest.norm == .linf ? .linf : .l2
                proto.epsilon = manifest.epsilon
                proto.architecture = manifest.architecture
                proto.recipe = manifest.recipe
                if let evaluation = manifest.evaluation {
                    proto.cleanAccuracy = evaluation.clean
                    if let robust = evaluation.robust { proto.robustAccuracy = robust }
                    if let pgd = evaluation.pgd20 { proto.pgdAccuracy = pgd }
                    if let autoAttack = evaluation.autoAttack { proto.autoattackAccuracy = autoAttack }
                    proto.evalExamples = UInt32(evaluation.examples)
                }
                if let seed = manifest.seed { proto.seed = seed }
                proto.rkdVersion = manifest.rkdVersion
                proto.datasetClasses = (manifest.datasetClasses ?? []).map { UInt32($0) }
                if let training = manifest.training {
                    proto.trainingSeconds = training.seconds
                    proto.validationAccuracy = training.validationAccuracy
                }
            }
        }
    }
}
