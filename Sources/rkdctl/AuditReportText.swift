import Foundation

/// The parts of an audit report (`report.json`, schema rkd.audit/1) that rkdctl prints. rkdctl reads
/// the file format, not the daemon's types.
struct AuditReportText: Decodable {
    struct Attack: Codable {
        var name: String
        var norm: String
        var epsilon: Float
        var steps: Int?
        var robustAccuracy: Double
        var ci95: [Double]
        var seconds: Double
        var successRate: Double?
    }

    struct Worst: Decodable {
        var epsilon: Float
        var robustAccuracy: Double
        var ci95: [Double]
    }

    struct Flag: Decodable {
        var id: String
        var severity: String
        var finding: String
        var meaning: String
        var action: String
    }

    struct Verdict: Decodable {
        var failUnder: Double
        var lowestRobustAccuracy: Double
        var result: String
    }

    struct DataInfo: Decodable {
        var name: String
        var count: Int
    }

    var schema: String
    var cleanAccuracy: Double
    var cleanCI95: [Double]
    var attacks: [Attack]
    var worstCase: [Worst]
    var flags: [Flag]
    var verdict: Verdict?
    var seed: UInt64
    var data: DataInfo

    var verdictResult: String? { verdict?.result }

    init(json: Data) throws {
        do {
            self = try JSONDecoder().decode(AuditReportText.self, from: json)
        } catch {
            throw CLIError(.failure, "the daemon's report is not an rkd.audit/1 report: \(error)")
        }
    }

    private static func percent(_ x: Double) -> String { String(format: "%.1f %%", 100 * x) }

    /// The text summary: the table, the worst case, the flags and the verdict.
    func summaryLines() -> [String] {
        var lines = [
            "", "clean accuracy \(Self.percent(cleanAccuracy)) on \(data.count) \(data.name) examples (seed \(seed))",
        ]
        var rows = [["attack", "norm", "ε", "steps", "robust", "95 % CI", "seconds"]]
        for a in attacks {
            rows.append([
                a.name, a.norm, "\(a.epsilon)", a.steps.map(String.init) ?? "–", Self.percent(a.robustAccuracy),
                "\(Self.percent(a.ci95[0]))–\(Self.percent(a.ci95[1]))", String(format: "%.1f", a.seconds),
            ])
        }
        for w in worstCase {
            rows.append([
                "worst case", "", "\(w.epsilon)", "", Self.percent(w.robustAccuracy),
                "\(Self.percent(w.ci95[0]))–\(Self.percent(w.ci95[1]))", "",
            ])
        }
        lines += columns(rows)
        if flags.isEmpty {
            lines.append("reliability flags: none fired")
        } else {
            lines.append("reliability flags:")
            for flag in flags {
                lines.append("  \(flag.id) (\(flag.severity)): \(flag.finding)")
                lines.append("    \(flag.meaning) What to do: \(flag.action)")
            }
        }
        if let verdict {
            lines.append(
                "verdict: \(verdict.result) (lowest robust accuracy \(Self.percent(verdict.lowestRobustAccuracy)), "
                    + "pass mark \(Self.percent(verdict.failUnder)))"
            )
        }
        return lines
    }

    /// What `rkdctl audit --json` prints.
    struct JSONSummary: Encodable {
        struct Flag: Encodable {
            var id: String
            var severity: String
            var finding: String
            var action: String
        }

        var jobId: String
        var cleanAccuracy: Double
        var attacks: [Attack]
        var worstCase: [Attack]
        var flags: [Flag]
        var verdict: String?
    }

    func jsonSummary(jobID: String) -> JSONSummary {
        JSONSummary(
            jobId: jobID,
            cleanAccuracy: cleanAccuracy,
            attacks: attacks,
            worstCase: worstCase.map {
                .init(
                    name: "worst-case",
                    norm: attacks.first?.norm ?? "",
                    epsilon: $0.epsilon,
                    steps: nil,
                    robustAccuracy: $0.robustAccuracy,
                    ci95: $0.ci95,
                    seconds: 0,
                    successRate: nil
                )
            },
            flags: flags.map { .init(id: $0.id, severity: $0.severity, finding: $0.finding, action: $0.action) },
            verdict: verdict?.result
        )
    }
}
