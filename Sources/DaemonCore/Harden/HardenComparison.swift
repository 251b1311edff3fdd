import Audit
import Foundation
import Jobs

/// A hardening job's result: `harden.json` (the spec, the digests, what training did, the two audits'
/// headline numbers), and `report.json`/`report.md`/`report.html` comparing the audits before and
/// after (when the job audits).
struct HardenComparison: Encodable {
    struct Training: Codable {
        var method: String
        var epochs: Int
        var steps: Int
        var examples: Int
        var seconds: Double
        var layers: [String]
    }

    struct Row: Codable {
        var attack: String
        var epsilon: Float?
        var before: Double?
        var after: Double
    }

    var schema = "rkd.harden/1"
    var rkdVersion = DaemonContext.version
    var spec: HardenSpec
    var sourceDigest: String
    var hardenedDigest: String
    var training: Training
    var rows: [Row]
    var flagsAfter: [String]

    let before: AuditReport?
    let after: AuditReport?

    enum CodingKeys: String, CodingKey {
        case schema, rkdVersion, spec, sourceDigest, hardenedDigest, training, rows, flagsAfter
    }

    init(
        spec: HardenSpec,
        sourceDigest: String,
        hardenedDigest: String,
        training: Training,
        before: AuditReport?,
        after: AuditReport?
    ) {
        self.spec = spec
        self.sourceDigest = sourceDigest
        self.hardenedDigest = hardenedDigest
        self.training = training
        self.before = before
        self.after = after
        if let before, let after {
            rows = AuditComparison(title: "", facts: [], before: before, after: after).rows.map {
                Row(
                    attack: $0.name,
                    epsilon: $0.name == "clean" ? nil : $0.epsilon,
                    before: $0.before.isFinite ? $0.before : nil,
                    after: $0.after
                )
            }
        } else {
            rows = []
        }
        flagsAfter = after?.flags.map(\.id) ?? []
    }

    func comparison(_ before: AuditReport, _ after: AuditReport) -> AuditComparison {
        var facts: [(String, String)] = [
            ("method", spec.method.rawValue), ("model", sourceDigest), ("hardened", hardenedDigest),
            (
                "training",
                "\(training.epochs) epochs, \(training.steps) steps on \(training.examples) \(spec.data.name) examples, \(Int(training.seconds)) s"
            ),
            ("seed", "\(spec.schedule.seed)"),
        ]
        if let teacher = spec.teacher, spec.method == .robustKD || spec.method == .shafahi {
            facts.insert(("teacher", teacher), at: 1)
        }
        if spec.method == .robustKD {
            facts.append(
                (
                    "settings",
                    "α \(spec.alpha), β \(spec.beta), \(spec.projections) projection(s), \(spec.featureDistance.rawValue) "
                        + "distance, \(spec.jacobian.rawValue) Jacobian"
                        + (spec.projectionScope == .perLayer ? "" : " (\(spec.projectionScope.rawValue) projection)")
                )
            )
        }
        if !training.layers.isEmpty { facts.append(("layers", training.layers.joined(separator: ", "))) }
        return AuditComparison(title: "Hardening: before and after", facts: facts, before: before, after: after)
    }

    func write(_ context: JobExecutionContext) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try await context.writeArtifact(name: "harden.json", mediaType: "application/json", try encoder.encode(self))
        guard let before, let after else { return }
        let comparison = comparison(before, after)
        try await context.writeArtifact(name: "report.md", mediaType: "text/markdown", Data(comparison.markdown().utf8))
        try await context.writeArtifact(name: "report.html", mediaType: "text/html", Data(comparison.html().utf8))
        // GetReport's JSON for a hardening job is the audit of the hardened model.
        try await context.writeArtifact(name: "report.json", mediaType: "application/json", try encoder.encode(after))
    }

    var summaryLine: String {
        func percent(_ x: Double?) -> String { x.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }
        let parts = rows.map {
            "\($0.attack)\($0.epsilon.map { "@\($0)" } ?? "") \(percent($0.before)) → \(percent($0.after))"
        }
        return "hardening done in \(Int(training.seconds)) s of training"
            + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
    }
}
