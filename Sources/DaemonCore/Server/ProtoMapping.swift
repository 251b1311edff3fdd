import DaemonAPI
import Foundation
import GRPCCore
import Jobs
import SwiftProtobuf

/// Between the `Jobs` values and the generated API messages.
enum ProtoMapping {
    static func state(_ state: JobState) -> Rkd_V1_JobState {
        switch state {
        case .queued: .queued
        case .running: .running
        case .succeeded: .succeeded
        case .failed: .failed
        case .cancelled: .cancelled
        case .interrupted: .interrupted
        }
    }

    static func state(_ state: Rkd_V1_JobState) throws -> JobState {
        switch state {
        case .queued: return .queued
        case .running: return .running
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled: return .cancelled
        case .interrupted: return .interrupted
        default: throw RPCError(code: .invalidArgument, message: "states: \(state) is not a job state")
        }
    }

    static func kind(_ kind: JobKind) -> Rkd_V1_JobKind {
        switch kind {
        case .audit: .audit
        case .harden: .harden
        case .teacherTraining: .teacherTraining
        }
    }

    static func kind(_ kind: Rkd_V1_JobKind) throws -> JobKind {
        switch kind {
        case .audit: return .audit
        case .harden: return .harden
        case .teacherTraining: return .teacherTraining
        default: throw RPCError(code: .invalidArgument, message: "kind: \(kind) is not a job kind")
        }
    }

    static func timestamp(_ date: Date) -> Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: date) }

    static func progress(_ progress: JobProgress) -> Rkd_V1_Progress {
        var message = Rkd_V1_Progress()
        message.phase = progress.phase
        message.done = UInt64(max(progress.done, 0))
        message.total = UInt64(max(progress.total, 0))
        message.unit = progress.unit
        message.rate = progress.rate
        if let eta = progress.etaSeconds, eta.isFinite, eta >= 0 {
            message.eta = Google_Protobuf_Duration(rounding: eta, rule: .toNearestOrAwayFromZero)
        }
        return message
    }

    static func failure(_ failure: JobFailure) -> Rkd_V1_JobError {
        var message = Rkd_V1_JobError()
        message.code = failure.code
        message.message = failure.message
        return message
    }

    static func job(_ job: Job, _ context: DaemonContext) async throws -> Rkd_V1_Job {
        var message = Rkd_V1_Job()
        message.id = job.id
        message.kind = kind(job.kind)
        message.state = state(job.state)
        message.ownerUid = job.ownerUID
        message.modelDigest = job.modelDigest ?? ""
        message.requestID = job.requestID ?? ""
        message.createdAt = timestamp(job.createdAt)
        if let started = job.startedAt { message.startedAt = timestamp(started) }
        if let finished = job.finishedAt { message.finishedAt = timestamp(finished) }
        message.attempt = UInt32(max(job.attempt, 0))
        message.cancelRequested = job.cancelRequested
        if let progress = job.progress { message.progress = Self.progress(progress) }
        if let failure = job.failure { message.error = Self.failure(failure) }
        message.spec = spec(job.spec)
        for artifact in try await context.store.artifacts(jobID: job.id) {
            var a = Rkd_V1_Artifact()
            a.name = artifact.name
            a.sizeBytes = UInt64(artifact.size)
            a.sha256 = artifact.sha256
            a.mediaType = artifact.mediaType
            message.artifacts.append(a)
        }
        return message
    }

    static func event(_ event: JobEvent) -> Rkd_V1_JobEvent {
        var message = Rkd_V1_JobEvent()
        message.seq = UInt64(max(event.seq, 0))
        message.time = timestamp(event.time)
        message.jobID = event.jobID
        switch event.payload {
        case .stateChange(let change):
            var c = Rkd_V1_StateChange()
            if let from = change.from { c.fromState = state(from) }
            c.toState = state(change.to)
            c.attempt = UInt32(max(change.attempt, 0))
            c.reason = change.reason
            if let failure = change.failure { c.error = Self.failure(failure) }
            message.stateChange = c
        case .progress(let progress):
            message.progress = Self.progress(progress)
        case .log(let line):
            var l = Rkd_V1_LogLine()
            l.level =
                switch line.level {
                case .debug: .debug
                case .info: .info
                case .warning: .warning
                case .error: .error
                }
            l.message = line.message
            message.log = l
        }
        return message
    }
}
