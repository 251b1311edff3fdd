import DaemonAPI
import Foundation
import GRPCCore
import Jobs
import Logging
import NPY
import ONNXInterop
import TensorEngine

extension DaemonService {
    public func uploadModel(
        request: StreamingServerRequest<Rkd_V1_UploadModelRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_UploadModelResponse> {
        try await RPCErrorMapping.mapping {
            let caller = try Self.caller(request.metadata)
            let limit = self.context.configuration.maxUploadBytes
            let upload = try self.context.artifacts.beginModelUpload(limit: limit)
            var header: Rkd_V1_UploadModelHeader?
            var first = true
            do {
                for try await part in request.messages {
                    switch part.content {
                    case .header(let h):
                        guard first else {
                            throw RPCError(code: .invalidArgument, message: "the header must be the first message")
                        }
                        header = h
                    case .chunk(let bytes):
                        guard bytes.count <= 4 << 20 else {
                            throw RPCError(code: .invalidArgument, message: "chunks must be at most 1 MiB")
                        }
                        try upload.append(bytes)
                    case nil:
                        throw RPCError(code: .invalidArgument, message: "a message with neither header nor chunk")
                    }
                    first = false
                }
                var expectedDigest: SHA256Digest?
                if let text = header?.sha256, !text.isEmpty {
                    guard let digest = SHA256Digest(hex: text) else {
                        throw RPCError(code: .invalidArgument, message: "header.sha256 '\(text)' is not 64 hex digits")
                    }
                    expectedDigest = digest
                }
                let expectedSize = header.flatMap { $0.hasSizeBytes ? Int(clamping: $0.sizeBytes) : nil }
                guard upload.size > 0 else {
                    upload.abandon()
                    throw RPCError(code: .invalidArgument, message: "the upload was empty; send the .onnx file's bytes")
                }
                let stored = try upload.finish(expectedSize: expectedSize, expectedSHA256: expectedDigest)
                self.context.logger.info(
                    "model uploaded",
                    metadata: [
                        "model.digest": "\(stored.digest)", "model.size": "\(stored.size)",
                        "caller.uid": "\(caller.uid)", "model.new": "\(!stored.alreadyStored)",
                    ]
                )
                var response = Rkd_V1_UploadModelResponse()
                response.digest = stored.digest.description
                response.sizeBytes = UInt64(stored.size)
                response.alreadyStored = stored.alreadyStored
                return ServerResponse(message: response)
            } catch {
                upload.abandon()
                throw error
            }
        }
    }

    /// Reads a stored model; NOT_FOUND names the digest.
    func storedModel(_ text: String) throws -> (digest: SHA256Digest, model: ONNXModel, size: Int) {
        guard let digest = SHA256Digest(hex: text) else {
            throw RPCError(code: .invalidArgument, message: "model_digest '\(text)' is not a SHA-256 (64 hex digits)")
        }
        guard context.artifacts.hasModel(digest: digest) else {
            throw RPCError(
                code: .notFound,
                message: "no model with digest \(text); upload it first (UploadModel, or rkdctl does it for you)"
            )
        }
        let bytes = try context.artifacts.readModel(digest: digest)
        return (digest, try ONNXModel.limited(bytes, limits: context.configuration.importLimits), bytes.count)
    }

    public func inspectModel(
        request: ServerRequest<Rkd_V1_InspectModelRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_ModelInfo> {
        try await RPCErrorMapping.mapping {
            _ = try Self.caller(request.metadata)
            let (digest, model, size) = try storedModel(request.message.modelDigest)
            let summary = model.summary
            var info = Rkd_V1_ModelInfo()
            info.digest = digest.description
            info.sizeBytes = UInt64(size)
            info.irVersion = Int64(summary.irVersion)
            info.opsetImports = summary.opsetImports.map { entry in
                var id = Rkd_V1_OperatorSetId()
                id.domain = entry.domain
                id.version = Int64(entry.version)
                return id
            }
            info.producerName = summary.producerName
            info.producerVersion = summary.producerVersion
            info.inputs = summary.inputs.map(Self.valueInfo)
            info.outputs = summary.outputs.map(Self.valueInfo)
            info.operators = summary.operators.map { use in
                var o = Rkd_V1_OperatorUse()
                o.domain = use.domain
                o.opType = use.opType
                o.count = UInt32(use.count)
                o.supported = use.supported
                return o
            }
            info.parameterCount = UInt64(summary.parameterCount)
            let verdict = model.check()
            var checker = Rkd_V1_CheckerVerdict()
            checker.valid = verdict.status != .invalid
            checker.message = verdict.message
            info.checker = checker
            var unsupported = summary.unsupportedNodes
            var outputKind = Rkd_V1_OutputKind.unspecified
            if unsupported.isEmpty {
                // Every operator is known; importing checks attributes and shapes too.
                do {
                    let graph = try ImportedGraph(model)
                    outputKind = graph.outputAnalyses.first?.kind == .probabilities ? .probabilities : .logits
                    // A dry run at batch 1 of the declared inputs (symbolic and unknown sizes as 1) finds
                    // what only running shows: shapes that do not fit, indices out of range.
                    if let problem = graph.dryRun() { unsupported.append(problem) }
                } catch let error as ONNXError {
                    unsupported.append(
                        .init(nodeName: error.node ?? "", domain: "", opType: "", reason: error.description)
                    )
                }
            }
            info.unsupportedNodes = unsupported.map { node in
                var n = Rkd_V1_UnsupportedNode()
                n.nodeName = node.nodeName
                n.domain = node.domain
                n.opType = node.opType
                n.reason = node.reason
                return n
            }
            info.fullySupported = unsupported.isEmpty
            info.outputKind = outputKind
            return ServerResponse(message: info)
        }
    }

    static func valueInfo(_ value: ModelSummary.ValueSummary) -> Rkd_V1_ValueInfo {
        var info = Rkd_V1_ValueInfo()
        info.name = value.name
        info.elementType = value.elementType
        info.shape = value.shape.map { dimension in
            var d = Rkd_V1_Dimension()
            switch dimension {
            case .size(let n): d.size = Int64(n)
            case .symbol(let s): d.symbol = s
            case .unknown: break
            }
            return d
        }
        return info
    }

    public func predict(
        request: ServerRequest<Rkd_V1_PredictRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_PredictResponse> {
        try await RPCErrorMapping.mapping {
            _ = try Self.caller(request.metadata)
            let message = request.message
            let (_, model, _) = try storedModel(message.modelDigest)
            let x = try Self.inputTensor(message)
            let prediction = try Prediction.run(
                model: model,
                input: x,
                labels: message.labels.map { Int($0) },
                wantsGradient: message.inputGradient,
                preprocessing: message.hasPreprocessing
                    ? (message.preprocessing.mean, message.preprocessing.std) : nil,
                declaredKind: message.outputKind == .probabilities
                    ? .probabilities : message.outputKind == .logits ? .logits : nil
            )
            var response = Rkd_V1_PredictResponse()
            let own = !message.logits && prediction.outputIsProbabilities
            response.logits = Self.tensor(own ? prediction.modelOutput : prediction.logits)
            response.outputKind = own ? .probabilities : .logits
            response.predictions = prediction.logits.argmax(axis: 1).map { Int64($0) }
            if let loss = prediction.loss { response.loss = loss }
            if let gradient = prediction.inputGradient { response.inputGradient = Self.tensor(gradient) }
            return ServerResponse(message: response)
        }
    }

    static func inputTensor(_ message: Rkd_V1_PredictRequest) throws -> Tensor {
        switch message.input {
        case .tensor(let t):
            let shape = t.shape.map { Int($0) }
            guard shape.allSatisfy({ $0 > 0 }), let count = NPYArray.product(shape), count == t.data.count else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "tensor: shape \(t.shape) does not hold its \(t.data.count) values"
                )
            }
            return Tensor(shape: shape, scalars: t.data)
        case .npy(let bytes):
            let array = try NPYArray(npy: bytes)
            guard array.shape.allSatisfy({ $0 > 0 }) else {
                throw RPCError(code: .invalidArgument, message: "npy: the array of shape \(array.shape) is empty")
            }
            return Tensor(shape: array.shape, scalars: array.floats)
        case nil:
            throw RPCError(code: .invalidArgument, message: "no input: set tensor or npy")
        }
    }

    static func tensor(_ t: Tensor) -> Rkd_V1_Tensor {
        var message = Rkd_V1_Tensor()
        message.shape = t.shape.map { Int64($0) }
        message.data = t.scalars
        return message
    }
}
