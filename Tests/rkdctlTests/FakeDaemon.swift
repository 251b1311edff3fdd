import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf
import Synchronization

/// A stand-in for rkdd on a temporary socket: the real gRPC server and transport with canned answers,
/// so that the built rkdctl can be tested on what it sends, prints and exits with, including the
/// failures a real daemon rarely gives on demand (each status code, a stream cut mid-way).
///
/// Canned behaviour, by job id: "job-ok" succeeds (watch: 3 events), "job-flaky" is watched in two
/// parts with UNAVAILABLE between them, "job-failed" fails; "missing", "bad", "busy", "denied" and
/// "late" answer NOT_FOUND, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, PERMISSION_DENIED and
/// FAILED_PRECONDITION.
final class FakeDaemon: Rkd_V1_Daemon.SimpleServiceProtocol {
    struct Recorded: Sendable {
        var uploadHeader: Rkd_V1_UploadModelHeader?
        var uploadChunkSizes: [Int] = []
        var uploadBytes = Data()
        var predictRequest: Rkd_V1_PredictRequest?
        var listRequests: [Rkd_V1_ListJobsRequest] = []
        var watchAfterSeqs: [UInt64] = []
        var hardenRequest: Rkd_V1_SubmitHardenRequest?
    }

    static let digest = String(repeating: "ab", count: 32)
    let recorded = Mutex(Recorded())

    /// Runs `body` with a fake daemon serving on `socket`, then shuts it down.
    static func serving<Result: Sendable>(
        on socket: String,
        _ body: (FakeDaemon) async throws -> Result
    ) async throws -> Result {
        let fake = FakeDaemon()
        let transport = HTTP2ServerTransport.Posix(
            address: .unixDomainSocket(path: socket),
            transportSecurity: .plaintext
        )
        let server = GRPCServer(transport: transport, services: [fake])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            _ = try await transport.listeningAddress
            defer { server.beginGracefulShutdown() }
            return try await body(fake)
        }
    }

    static func job(_ id: String, state: Rkd_V1_JobState) -> Rkd_V1_Job {
        .with {
            $0.id = id
            $0.kind = .audit
            $0.state = state
            $0.ownerUid = 1000
            $0.modelDigest = digest
            $0.createdAt = Google_Protobuf_Timestamp(seconds: 1_795_000_000)
            $0.attempt = 1
            $0.audit = .with {
                $0.attacks = [.with { $0.attack = .pgd }]
                $0.norm = .linf
                $0.epsilons = [0.1]
                $0.numExamples = 100
                $0.seed = 7
            }
            if state == .failed {
                $0.error = .with {
                    $0.code = "unsupported-operator"
                    $0.message = "node 'n1' uses Foo"
                }
            }
            if state == .succeeded {
                $0.artifacts = [
                    .with {
                        $0.name = "report.json"
                        $0.sizeBytes = 1234
                        $0.sha256 = String(repeating: "cd", count: 32)
                        $0.mediaType = "application/json"
                    }
                ]
            }
        }
    }

    /// The canned errors, by job id.
    static func cannedError(_ id: String) -> RPCError? {
        switch id {
        case "missing": RPCError(code: .notFound, message: "no job 'missing'")
        case "job-": RPCError(code: .notFound, message: "no job 'job-'")  // the start of two listed ids
        case "bad": RPCError(code: .invalidArgument, message: "job_id 'bad' is not a UUID")
        case "busy": RPCError(code: .resourceExhausted, message: "the queue is full (64 jobs)")
        case "denied": RPCError(code: .permissionDenied, message: "not your job")
        case "late": RPCError(code: .failedPrecondition, message: "job 'late' has already succeeded")
        default: nil
        }
    }

    func uploadModel(
        request: RPCAsyncSequence<Rkd_V1_UploadModelRequest, any Error>,
        context: ServerContext
    ) async throws -> Rkd_V1_UploadModelResponse {
        for try await message in request {
            switch message.content {
            case .header(let header): recorded.withLock { $0.uploadHeader = header }
            case .chunk(let chunk):
                recorded.withLock {
                    $0.uploadChunkSizes.append(chunk.count)
                    $0.uploadBytes.append(chunk)
                }
            case nil: break
            }
        }
        let size = recorded.withLock { $0.uploadBytes.count }
        return .with {
            $0.digest = Self.digest
            $0.sizeBytes = UInt64(size)
        }
    }

    func inspectModel(request: Rkd_V1_InspectModelRequest, context: ServerContext) async throws -> Rkd_V1_ModelInfo {
        guard request.modelDigest == Self.digest else { throw RPCError(code: .notFound, message: "no such model") }
        let unsupported = recorded.withLock { $0.uploadHeader?.filename == "unsupported.onnx" }
        return .with {
            $0.digest = Self.digest
            $0.sizeBytes = UInt64(recorded.withLock { $0.uploadBytes.count })
            $0.irVersion = 8
            $0.opsetImports = [.with { $0.version = 17 }]
            $0.producerName = "pytorch"
            $0.producerVersion = "2.5.0"
            $0.inputs = [
                .with {
                    $0.name = "input"
                    $0.elementType = "float"
                    $0.shape = [.with { $0.symbol = "N" }, .with { $0.size = 3 }, .with { $0.size = 7 }, .init()]
                }
            ]
            $0.outputs = [
                .with {
                    $0.name = "logits"
                    $0.elementType = "float"
                    $0.shape = [.with { $0.symbol = "N" }, .with { $0.size = 3 }]
                }
            ]
            $0.operators = [
                .with {
                    $0.opType = "Conv"
                    $0.count = 2
                    $0.supported = true
                },
                .with {
                    $0.opType = "Foo"
                    $0.count = 1
                    $0.supported = !unsupported
                },
            ]
            $0.parameterCount = 1_234_567
            $0.checker = .with { $0.valid = true }
            $0.fullySupported = !unsupported
            if unsupported {
                $0.unsupportedNodes = [
                    .with {
                        $0.nodeName = "foo_1"
                        $0.opType = "Foo"
                        $0.reason = "Foo is not an operator rkd implements"
                    }
                ]
            }
            $0.outputKind = .logits
        }
    }

    func predict(request: Rkd_V1_PredictRequest, context: ServerContext) async throws -> Rkd_V1_PredictResponse {
        recorded.withLock { $0.predictRequest = request }
        return .with {
            $0.logits = .with {
                $0.shape = [2, 3]
                $0.data = [0.5, -1, 2, 3, 0.25, -0.5]
            }
            $0.predictions = [2, 0]
            if !request.labels.isEmpty { $0.loss = 1.5 }
            if request.inputGradient {
                $0.inputGradient = .with {
                    $0.shape = [2, 1]
                    $0.data = [0.125, -0.25]
                }
            }
        }
    }

    func getJob(request: Rkd_V1_GetJobRequest, context: ServerContext) async throws -> Rkd_V1_Job {
        if let error = Self.cannedError(request.jobID) { throw error }
        return Self.job(request.jobID, state: request.jobID == "job-failed" ? .failed : .succeeded)
    }

    func listJobs(request: Rkd_V1_ListJobsRequest, context: ServerContext) async throws -> Rkd_V1_ListJobsResponse {
        recorded.withLock { $0.listRequests.append(request) }
        // Two pages: "job-ok" then, after token "p2", "job-failed".
        if request.pageToken == "p2" {
            return .with { $0.jobs = [Self.job("job-failed", state: .failed)] }
        }
        return .with {
            $0.jobs = [Self.job("job-ok", state: .running)]
            $0.jobs[0].progress = .with {
                $0.phase = "pgd eps=0.1"
                $0.done = 25
                $0.total = 100
                $0.unit = "examples"
            }
            $0.nextPageToken = "p2"
        }
    }

    func watchJob(
        request: Rkd_V1_WatchJobRequest,
        response: RPCWriter<Rkd_V1_JobEvent>,
        context: ServerContext
    ) async throws {
        recorded.withLock { $0.watchAfterSeqs.append(request.afterSeq) }
        if let error = Self.cannedError(request.jobID) { throw error }
        let final: Rkd_V1_JobState = request.jobID == "job-failed" ? .failed : .succeeded
        let events: [Rkd_V1_JobEvent] = [
            .with {
                $0.seq = 1
                $0.stateChange = .with {
                    $0.fromState = .queued
                    $0.toState = .running
                    $0.attempt = 1
                }
            },
            .with {
                $0.seq = 2
                $0.progress = .with {
                    $0.phase = "pgd eps=0.1"
                    $0.done = 50
                    $0.total = 100
                    $0.unit = "examples"
                    // Slower than one a second: shown per minute.
                    $0.rate = 0.04
                }
            },
            .with {
                $0.seq = 3
                $0.log = .with {
                    $0.level = .warning
                    $0.message = "gradients may be masked"
                }
            },
            .with {
                $0.seq = 4
                $0.stateChange = .with {
                    $0.fromState = .running
                    $0.toState = final
                    $0.attempt = 1
                    if final == .failed {
                        $0.error = .with {
                            $0.code = "unsupported-operator"
                            $0.message = "node 'n1' uses Foo"
                        }
                    }
                }
            },
        ]
        for event in events where event.seq > request.afterSeq {
            var event = event
            event.jobID = request.jobID
            event.time = Google_Protobuf_Timestamp(seconds: 1_795_000_000 + Int64(event.seq))
            try await response.write(event)
            if request.jobID == "job-flaky" && request.afterSeq == 0 && event.seq == 2 {
                throw RPCError(code: .unavailable, message: "rkdd restarting; job continues")
            }
        }
    }

    func cancelJob(request: Rkd_V1_CancelJobRequest, context: ServerContext) async throws -> Rkd_V1_Job {
        if let error = Self.cannedError(request.jobID) { throw error }
        return Self.job(request.jobID, state: .cancelled)
    }

    func getVersion(
        request: Rkd_V1_GetVersionRequest,
        context: ServerContext
    ) async throws
        -> Rkd_V1_GetVersionResponse
    {
        .with {
            $0.version = "9.9.9-fake"
            $0.apiVersion = "rkd.v1"
            $0.commit = "abc1234"
            $0.swiftVersion = "6.3.1"
            $0.threads = 2
        }
    }

    // Not used by rkdctl's commands yet.

    /// Answers as a daemon older than `first_example` would: job "job-audit", queued, whose stored
    /// spec lacks it.
    func submitAudit(request: Rkd_V1_SubmitAuditRequest, context: ServerContext) async throws -> Rkd_V1_Job {
        var job = Self.job("job-audit", state: .queued)
        job.kind = .audit
        job.audit = request.spec
        job.audit.firstExample = 0
        return job
    }

    /// Records the request and answers with job "job-harden", queued.
    func submitHarden(request: Rkd_V1_SubmitHardenRequest, context: ServerContext) async throws -> Rkd_V1_Job {
        recorded.withLock { $0.hardenRequest = request }
        var job = Self.job("job-harden", state: .queued)
        job.kind = .harden
        return job
    }

    func submitTeacherTraining(
        request: Rkd_V1_SubmitTeacherTrainingRequest,
        context: ServerContext
    ) async throws -> Rkd_V1_Job {
        throw RPCError(code: .unimplemented, message: "fake")
    }

    func getReport(
        request: Rkd_V1_GetReportRequest,
        context: ServerContext
    ) async throws
        -> Rkd_V1_GetReportResponse
    {
        throw RPCError(code: .unimplemented, message: "fake")
    }

    /// Job "job-ok" has one artifact, "hardened.onnx" (`artifactBytes`, sent in two chunks); job
    /// "job-cut" announces more bytes than it sends.
    func downloadArtifact(
        request: Rkd_V1_DownloadArtifactRequest,
        response: RPCWriter<Rkd_V1_DownloadArtifactResponse>,
        context: ServerContext
    ) async throws {
        guard ["job-ok", "job-cut"].contains(request.jobID), request.name == "hardened.onnx" else {
            throw RPCError(code: .notFound, message: "job \(request.jobID) has no artifact '\(request.name)'")
        }
        let bytes = Self.artifactBytes
        try await response.write(
            .with {
                $0.info = .with {
                    $0.artifact = .with {
                        $0.name = request.name
                        $0.sizeBytes = UInt64(bytes.count + (request.jobID == "job-cut" ? 10 : 0))
                    }
                }
            }
        )
        try await response.write(.with { $0.chunk = bytes.prefix(5) })
        try await response.write(.with { $0.chunk = bytes.dropFirst(5) })
    }

    static let artifactBytes = Data("hardened model bytes".utf8)

    func listTeachers(
        request: Rkd_V1_ListTeachersRequest,
        context: ServerContext
    ) async throws
        -> Rkd_V1_ListTeachersResponse
    {
        throw RPCError(code: .unimplemented, message: "fake")
    }

    func importTeacher(request: Rkd_V1_ImportTeacherRequest, context: ServerContext) async throws -> Rkd_V1_Teacher {
        throw RPCError(code: .unimplemented, message: "fake")
    }

    func removeTeacher(
        request: Rkd_V1_RemoveTeacherRequest,
        context: ServerContext
    ) async throws -> Rkd_V1_RemoveTeacherResponse {
        throw RPCError(code: .unimplemented, message: "fake")
    }

    func downloadTeacher(
        request: Rkd_V1_DownloadTeacherRequest,
        response: RPCWriter<Rkd_V1_DownloadArtifactResponse>,
        context: ServerContext
    ) async throws {
        throw RPCError(code: .unimplemented, message: "fake")
    }

    func listDatasets(
        request: Rkd_V1_ListDatasetsRequest,
        context: ServerContext
    ) async throws
        -> Rkd_V1_ListDatasetsResponse
    {
        throw RPCError(code: .unimplemented, message: "fake")
    }
}
