import DaemonAPI
import Foundation
import SwiftProtobuf

/// How jobs read in rkdctl's text output.
enum JobText {
    /// "45% (450/1000 examples)", "450 examples" when the total is unknown, "-" without progress.
    static func progress(_ progress: Rkd_V1_Progress?) -> String {
        guard let progress else { return "-" }
        let unit = progress.unit.isEmpty ? "" : " \(progress.unit)"
        guard progress.total > 0 else { return "\(progress.done)\(unit)" }
        let percent = Int(Double(progress.done) / Double(progress.total) * 100)
        return "\(percent)% (\(progress.done)/\(progress.total)\(unit))"
    }

    /// The progress line of `jobs show` and of `jobs watch` on a pipe: phase, counts, rate, ETA.
    static func progressDetail(_ progress: Rkd_V1_Progress) -> String {
        var parts = [Self.progress(progress)]
        if progress.rate > 0 {
            parts.append(rate(progress.rate, unit: progress.unit.isEmpty ? "units" : progress.unit))
        }
        if progress.hasEta {
            parts.append("ETA " + humanDuration(seconds: Double(progress.eta.seconds)))
        }
        let phase = progress.phase.isEmpty ? "" : "\(progress.phase): "
        return phase + parts.joined(separator: ", ")
    }

    /// "41.0 examples/s"; slower than one a second, per minute or per hour ("2.4 examples/min"), so
    /// that an AutoAttack on a robust model does not read as 0.0 examples/s.
    static func rate(_ perSecond: Double, unit: String) -> String {
        if perSecond >= 0.95 { return String(format: "%.1f %@/s", perSecond, unit) }
        if perSecond * 60 >= 0.95 { return String(format: "%.1f %@/min", perSecond * 60, unit) }
        return String(format: "%.1f %@/h", perSecond * 3600, unit)
    }

    /// `jobs show`'s text.
    static func details(_ job: Rkd_V1_Job) -> [String] {
        var rows: [[String]] = [["job", job.id], ["kind", job.kind.name]]
        var state = job.state.name
        if job.attempt > 1 { state += " (attempt \(job.attempt))" }
        if job.cancelRequested && !job.state.isFinal { state += ", cancel requested" }
        rows.append(["state", state])
        rows.append(["owner", "uid \(job.ownerUid)"])
        if !job.modelDigest.isEmpty { rows.append(["model", "sha256 \(job.modelDigest)"]) }
        if !job.requestID.isEmpty { rows.append(["request", job.requestID]) }
        if job.hasCreatedAt { rows.append(["created", job.createdAt.local]) }
        if job.hasStartedAt { rows.append(["started", job.startedAt.local]) }
        if job.hasFinishedAt { rows.append(["finished", job.finishedAt.local]) }
        if job.hasProgress { rows.append(["progress", progressDetail(job.progress)]) }
        if job.hasError { rows.append(["error", "\(job.error.code): \(job.error.message)"]) }
        if let spec = job.spec { rows.append(["spec", self.spec(spec)]) }
        var lines = columns(rows)
        if !job.artifacts.isEmpty {
            lines.append("artifacts:")
            lines += columns(
                job.artifacts.map { ["\($0.name)", "\(grouped($0.sizeBytes)) bytes", $0.mediaType, $0.sha256] },
                indent: "  "
            )
        }
        return lines
    }

    /// One line about what the job runs.
    static func spec(_ spec: Rkd_V1_Job.OneOf_Spec) -> String {
        switch spec {
        case .audit(let audit):
            return auditLine(audit)
        case .harden(let harden):
            var parts = ["\(harden.method.name)"]
            if !harden.teacher.isEmpty { parts.append("teacher \(harden.teacher)") }
            if harden.hasData { parts.append(dataLine(harden.data)) }
            if harden.schedule.epochs > 0 { parts.append("\(harden.schedule.epochs) epochs") }
            if harden.schedule.hasSeed { parts.append("seed \(harden.schedule.seed)") }
            return parts.joined(separator: "; ")
        case .teacherTraining(let training):
            var parts = ["\(training.name): \(training.architecture.name)"]
            if training.width > 0 { parts[0] += " width \(training.width)" }
            let recipe = training.adversarial.hasTradesBeta ? "TRADES β \(training.adversarial.tradesBeta)" : "PGD-AT"
            parts.append("\(recipe) \(training.adversarial.norm.name) ε \(training.adversarial.epsilon)")
            if training.hasData { parts.append(dataLine(training.data)) }
            if training.schedule.epochs > 0 { parts.append("\(training.schedule.epochs) epochs") }
            return parts.joined(separator: "; ")
        }
    }

    static func auditLine(_ audit: Rkd_V1_AuditSpec) -> String {
        let attacks = audit.attacks.isEmpty ? "autoattack" : audit.attacks.map(\.attack.name).joined(separator: ", ")
        var parts = [attacks]
        let epsilons = audit.epsilons.map { "\($0)" }.joined(separator: ", ")
        parts.append("\(audit.norm.name) ε " + (epsilons.isEmpty ? "default" : epsilons))
        if audit.hasData { parts.append(dataLine(audit.data)) }
        if audit.numExamples > 0 { parts.append("\(audit.numExamples) examples") }
        if audit.firstExample > 0 { parts.append("from example \(audit.firstExample)") }
        if audit.hasSeed { parts.append("seed \(audit.seed)") }
        if audit.hasFailUnder { parts.append("fail under \(audit.failUnder)") }
        return parts.joined(separator: "; ")
    }

    static func dataLine(_ data: Rkd_V1_DatasetSelection) -> String {
        var text = (data.name.isEmpty ? "fashion-mnist" : data.name) + " \(data.split.name)"
        if !data.classes.isEmpty { text += " classes \(data.classes.map(String.init).joined(separator: ","))" }
        return text
    }
}
