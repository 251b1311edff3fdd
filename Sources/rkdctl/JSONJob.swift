import DaemonAPI
import SwiftProtobuf

/// A job in rkdctl's JSON (`jobs list`, `jobs show`, `jobs cancel`). Times are RFC 3339 in UTC; fields
/// the daemon has not set (a job that has not started, a job without an error) are left out.
struct JobJSON: Encodable, Sendable {
    var id: String
    /// audit, harden or teacher-training.
    var kind: String
    /// queued, running, succeeded, failed, cancelled or interrupted.
    var state: String
    var ownerUid: UInt32
    var modelDigest: String?
    var requestId: String?
    var createdAt: String?
    var startedAt: String?
    var finishedAt: String?
    var attempt: UInt32
    var cancelRequested: Bool
    var progress: ProgressJSON?
    var error: JobErrorJSON?
    var artifacts: [ArtifactJSON]
    var spec: JobSpecJSON?

    init(_ job: Rkd_V1_Job) {
        id = job.id
        kind = job.kind.name
        state = job.state.name
        ownerUid = job.ownerUid
        modelDigest = job.modelDigest.isEmpty ? nil : job.modelDigest
        requestId = job.requestID.isEmpty ? nil : job.requestID
        createdAt = job.hasCreatedAt ? job.createdAt.rfc3339 : nil
        startedAt = job.hasStartedAt ? job.startedAt.rfc3339 : nil
        finishedAt = job.hasFinishedAt ? job.finishedAt.rfc3339 : nil
        attempt = job.attempt
        cancelRequested = job.cancelRequested
        progress = job.hasProgress ? ProgressJSON(job.progress) : nil
        error = job.hasError ? JobErrorJSON(job.error) : nil
        artifacts = job.artifacts.map(ArtifactJSON.init)
        spec = job.spec.map(JobSpecJSON.init)
    }
}

struct ProgressJSON: Encodable, Sendable {
    var phase: String
    var done: UInt64
    /// 0 when unknown.
    var total: UInt64
    var unit: String
    /// Units per second; 0 when not yet known.
    var rate: Double
    var etaSeconds: Double?

    init(_ progress: Rkd_V1_Progress) {
        phase = progress.phase
        done = progress.done
        total = progress.total
        unit = progress.unit
        rate = progress.rate
        etaSeconds = progress.hasEta ? Double(progress.eta.seconds) + Double(progress.eta.nanos) / 1e9 : nil
    }
}

struct JobErrorJSON: Encodable, Sendable {
    var code: String
    var message: String

    init(_ error: Rkd_V1_JobError) {
        code = error.code
        message = error.message
    }
}

struct ArtifactJSON: Encodable, Sendable {
    var name: String
    var sizeBytes: UInt64
    var sha256: String
    var mediaType: String

    init(_ artifact: Rkd_V1_Artifact) {
        name = artifact.name
        sizeBytes = artifact.sizeBytes
        sha256 = artifact.sha256
        mediaType = artifact.mediaType
    }
}

/// The job's spec as the daemon runs it: exactly one of the three members is present.
struct JobSpecJSON: Encodable, Sendable {
    var audit: AuditSpecJSON?
    var harden: HardenSpecJSON?
    var teacherTraining: TeacherTrainingSpecJSON?

    init(_ spec: Rkd_V1_Job.OneOf_Spec) {
        switch spec {
        case .audit(let audit): self.audit = AuditSpecJSON(audit)
        case .harden(let harden): self.harden = HardenSpecJSON(harden)
        case .teacherTraining(let training): self.teacherTraining = TeacherTrainingSpecJSON(training)
        }
    }
}

struct DataSelectionJSON: Encodable, Sendable {
    /// A data set name; empty in a request means fashion-mnist.
    var name: String
    /// train, test, or default.
    var split: String
    /// Only these classes; empty: all.
    var classes: [UInt32]

    init(_ data: Rkd_V1_DatasetSelection) {
        name = data.name.isEmpty ? "fashion-mnist" : data.name
        split = data.split.name
        classes = data.classes
    }
}

struct AuditSpecJSON: Encodable, Sendable {
    struct Attack: Encodable, Sendable {
        var name: String
        var steps: UInt32?
        var stepSize: Float?
        var restarts: UInt32
    }

    var attacks: [Attack]
    /// linf or l2.
    var norm: String
    var epsilons: [Float]
    var data: DataSelectionJSON?
    /// 0: the whole selection.
    var numExamples: UInt32
    /// Examples of the selection skipped first.
    var firstExample: UInt32
    var seed: UInt64?
    var failUnder: Double?

    init(_ spec: Rkd_V1_AuditSpec) {
        attacks = spec.attacks.map {
            Attack(
                name: $0.attack.name,
                steps: $0.hasSteps ? $0.steps : nil,
                stepSize: $0.hasStepSize ? $0.stepSize : nil,
                restarts: $0.restarts
            )
        }
        norm = spec.norm.name
        epsilons = spec.epsilons
        data = spec.hasData ? DataSelectionJSON(spec.data) : nil
        numExamples = spec.numExamples
        firstExample = spec.firstExample
        seed = spec.hasSeed ? spec.seed : nil
        failUnder = spec.hasFailUnder ? spec.failUnder : nil
    }
}

struct HardenSpecJSON: Encodable, Sendable {
    var teacher: String
    /// robust-kd, shafahi or adversarial-training.
    var method: String
    var alpha: Float?
    var beta: Float?
    var data: DataSelectionJSON?
    var epochs: UInt32
    var seed: UInt64?

    init(_ spec: Rkd_V1_HardenSpec) {
        teacher = spec.teacher
        method = spec.method.name
        alpha = spec.hasAlpha ? spec.alpha : nil
        beta = spec.hasBeta ? spec.beta : nil
        data = spec.hasData ? DataSelectionJSON(spec.data) : nil
        epochs = spec.schedule.epochs
        seed = spec.schedule.hasSeed ? spec.schedule.seed : nil
    }
}

struct TeacherTrainingSpecJSON: Encodable, Sendable {
    var name: String
    /// resnet20 or small-cnn.
    var architecture: String
    var width: UInt32
    var data: DataSelectionJSON?
    var norm: String
    var epsilon: Float
    var epochs: UInt32
    var seed: UInt64?

    init(_ spec: Rkd_V1_TeacherTrainingSpec) {
        name = spec.name
        architecture = spec.architecture.name
        width = spec.width
        data = spec.hasData ? DataSelectionJSON(spec.data) : nil
        norm = spec.adversarial.norm.name
        epsilon = spec.adversarial.epsilon
        epochs = spec.schedule.epochs
        seed = spec.schedule.hasSeed ? spec.schedule.seed : nil
    }
}

/// One WatchJob event in `rkdctl jobs watch --json`, one per line (JSON Lines). `type` says which of
/// state_change, progress and log is present.
struct JobEventJSON: Encodable, Sendable {
    struct StateChange: Encodable, Sendable {
        var from: String
        var to: String
        var attempt: UInt32
        var reason: String
        var error: JobErrorJSON?
    }

    struct Log: Encodable, Sendable {
        /// debug, info, warning or error.
        var level: String
        var message: String
    }

    var seq: UInt64
    var time: String?
    var jobId: String
    /// state_change, progress, log, or unknown (an event kind newer than this rkdctl).
    var type: String
    var stateChange: StateChange?
    var progress: ProgressJSON?
    var log: Log?

    init(_ event: Rkd_V1_JobEvent) {
        seq = event.seq
        time = event.hasTime ? event.time.rfc3339 : nil
        jobId = event.jobID
        switch event.event {
        case .stateChange(let change):
            type = "state_change"
            stateChange = StateChange(
                from: change.fromState.name,
                to: change.toState.name,
                attempt: change.attempt,
                reason: change.reason,
                error: change.hasError ? JobErrorJSON(change.error) : nil
            )
        case .progress(let progress):
            type = "progress"
            self.progress = ProgressJSON(progress)
        case .log(let line):
            type = "log"
            log = Log(level: line.level.name, message: line.message)
        case nil:
            type = "unknown"
        }
    }
}
