import Foundation

/// A job as the store records it.
public struct Job: Hashable, Sendable {
    /// The job's id: a lowercase UUID.
    public var id: String
    /// The uid that submitted the job.
    public var ownerUID: UInt32
    /// What the job does, with its settings.
    public var spec: JobSpec
    /// The model the job works on (audits and hardening), by SHA-256 digest.
    public var modelDigest: String?
    /// The client's idempotency key, if it gave one.
    public var requestID: String?
    /// The state, attempt counter and cancellation flag.
    public var machine: JobStateMachine
    /// The latest progress report.
    public var progress: JobProgress?
    /// Why the job failed; set only in state `failed`.
    public var failure: JobFailure?
    /// When the store accepted the job.
    public var createdAt: Date
    /// When the latest run started.
    public var startedAt: Date?
    /// When the job reached a final state.
    public var finishedAt: Date?

    /// The job's kind.
    public var kind: JobKind { spec.kind }
    /// The job's state.
    public var state: JobState { machine.state }
    /// How many times the job has started running.
    public var attempt: Int { machine.attempt }
    /// Whether cancellation was asked for while the job was running.
    public var cancelRequested: Bool { machine.cancelRequested }
}

/// A new job to store.
public struct JobSubmission: Hashable, Sendable {
    /// The submitting uid.
    public var ownerUID: UInt32
    /// What to do; validated by ``JobStore/submit(_:)``.
    public var spec: JobSpec
    /// The model the job works on, by SHA-256 digest.
    public var modelDigest: String?
    /// An idempotency key: a second submission by the same owner with the same key returns the first job.
    public var requestID: String?

    /// The longest accepted idempotency key, in UTF-8 bytes.
    public static let maximumRequestIDLength = 128

    /// Creates a submission.
    public init(ownerUID: UInt32, spec: JobSpec, modelDigest: String? = nil, requestID: String? = nil) {
        self.ownerUID = ownerUID
        self.spec = spec
        self.modelDigest = modelDigest
        self.requestID = requestID
    }
}

/// What ``JobStore/submit(_:)`` did.
public struct SubmitResult: Hashable, Sendable {
    /// The job, new or (for a repeated request id) the one stored before.
    public var job: Job
    /// False when the request id matched an existing job and nothing was stored.
    public var isNew: Bool
}

/// A file a job produced, recorded after the file itself is durable.
public struct JobArtifact: Hashable, Sendable {
    /// The name within the job, e.g. `report.json`.
    public var name: String
    /// The path relative to the state directory.
    public var relativePath: String
    /// The size in bytes.
    public var size: Int
    /// The SHA-256 of the bytes, lowercase hex.
    public var sha256: String
    /// The media type, e.g. `application/json`.
    public var mediaType: String

    /// Creates an artifact record.
    public init(name: String, relativePath: String, size: Int, sha256: String, mediaType: String) {
        self.name = name
        self.relativePath = relativePath
        self.size = size
        self.sha256 = sha256
        self.mediaType = mediaType
    }
}

/// Which jobs a listing returns; every filter that is set must match.
public struct JobFilter: Hashable, Sendable {
    /// Only these states; empty: any.
    public var states: Set<JobState>
    /// Only this kind.
    public var kind: JobKind?
    /// Only this owner.
    public var ownerUID: UInt32?

    /// Creates a filter.
    public init(states: Set<JobState> = [], kind: JobKind? = nil, ownerUID: UInt32? = nil) {
        self.states = states
        self.kind = kind
        self.ownerUID = ownerUID
    }
}

/// One page of a listing, newest job first.
public struct JobPage: Hashable, Sendable {
    /// The jobs.
    public var jobs: [Job]
    /// Pass it to the next call to get the next page; `nil` on the last page.
    public var nextCursor: Int64?
}
