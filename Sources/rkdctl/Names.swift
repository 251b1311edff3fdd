import ArgumentParser
import DaemonAPI

// The words rkdctl prints and parses for the API's enums: lower case, kebab case, the same in text and JSON.

extension Rkd_V1_JobState {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .queued: "queued"
        case .running: "running"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .cancelled: "cancelled"
        case .interrupted: "interrupted"
        case .UNRECOGNIZED(let value): "state-\(value)"
        }
    }

    /// SUCCEEDED, FAILED and CANCELLED: the job will not change again.
    var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

extension Rkd_V1_JobKind {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .audit: "audit"
        case .harden: "harden"
        case .teacherTraining: "teacher-training"
        case .UNRECOGNIZED(let value): "kind-\(value)"
        }
    }
}

extension Rkd_V1_OutputKind {
    var name: String {
        switch self {
        case .logits: "logits"
        case .probabilities: "probabilities"
        case .unspecified, .UNRECOGNIZED: "unknown"
        }
    }
}

extension Rkd_V1_LogLevel {
    var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        case .unspecified, .UNRECOGNIZED: "info"
        }
    }
}

extension Rkd_V1_Attack {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .fgsm: "fgsm"
        case .pgd: "pgd"
        case .miFgsm: "mi-fgsm"
        case .cwL2: "cw-l2"
        case .apgdCe: "apgd-ce"
        case .apgdT: "apgd-t"
        case .fabT: "fab-t"
        case .square: "square"
        case .autoattack: "autoattack"
        case .UNRECOGNIZED(let value): "attack-\(value)"
        }
    }
}

extension Rkd_V1_Norm {
    var name: String {
        switch self {
        case .unspecified, .linf: "linf"
        case .l2: "l2"
        case .UNRECOGNIZED(let value): "norm-\(value)"
        }
    }
}

extension Rkd_V1_HardenMethod {
    var name: String {
        switch self {
        case .unspecified, .robustKd: "robust-kd"
        case .shafahi: "shafahi"
        case .adversarialTraining: "adversarial-training"
        case .finetune: "finetune"
        case .UNRECOGNIZED(let value): "method-\(value)"
        }
    }
}

extension Rkd_V1_Architecture {
    var name: String {
        switch self {
        case .unspecified, .resnet20: "resnet20"
        case .smallCnn: "small-cnn"
        case .UNRECOGNIZED(let value): "architecture-\(value)"
        }
    }
}

extension Rkd_V1_Split {
    var name: String {
        switch self {
        case .unspecified: "default"
        case .train: "train"
        case .test: "test"
        case .UNRECOGNIZED(let value): "split-\(value)"
        }
    }
}

/// A job state as `rkdctl jobs list --state` takes it.
enum JobStateArgument: String, CaseIterable, ExpressibleByArgument, Sendable {
    case queued, running, succeeded, failed, cancelled, interrupted

    var state: Rkd_V1_JobState {
        switch self {
        case .queued: .queued
        case .running: .running
        case .succeeded: .succeeded
        case .failed: .failed
        case .cancelled: .cancelled
        case .interrupted: .interrupted
        }
    }
}

/// A job kind as `rkdctl jobs list --kind` takes it.
enum JobKindArgument: String, CaseIterable, ExpressibleByArgument, Sendable {
    case audit, harden
    case teacherTraining = "teacher-training"

    var kind: Rkd_V1_JobKind {
        switch self {
        case .audit: .audit
        case .harden: .harden
        case .teacherTraining: .teacherTraining
        }
    }
}

/// Attack names on the command line: the proto's values in lower-kebab-case.
extension Names {
    static let attacks: [(String, Rkd_V1_Attack)] = [
        ("fgsm", .fgsm), ("pgd", .pgd), ("mi-fgsm", .miFgsm), ("cw-l2", .cwL2), ("apgd-ce", .apgdCe),
        ("apgd-t", .apgdT), ("fab-t", .fabT), ("square", .square), ("autoattack", .autoattack),
    ]
    static var attackNames: [String] { attacks.map(\.0) }
    static func attack(_ name: String) -> Rkd_V1_Attack? { attacks.first { $0.0 == name.lowercased() }?.1 }
    static func attackName(_ attack: Rkd_V1_Attack) -> String { attacks.first { $0.1 == attack }?.0 ?? "unknown" }
}

/// Namespace for the name tables above.
enum Names {}
