import Audit
import DaemonAPI
import Foundation
import GRPCCore
import Jobs

/// GetReport: a finished audit's report in the asked format, with its headline numbers.
extension DaemonService {
    public func getReport(
        request: ServerRequest<Rkd_V1_GetReportRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_GetReportResponse> {
        try await RPCErrorMapping.mapping {
            let caller = try Self.caller(request.metadata)
            let job = try await job(request.message.jobID)
            try Authorization.requireOwnerOrRoot(caller, of: job, to: "read its report")
            let (name, mediaType): (String, String) =
                switch request.message.format {
                case .unspecified, .json: ("report.json", "application/json")
                case .markdown: ("report.md", "text/markdown")
                case .html: ("report.html", "text/html")
                case .UNRECOGNIZED(let value):
                    throw RPCError(code: .invalidArgument, message: "format \(value) is not a report format")
                }
            let artifacts = try await self.context.store.artifacts(jobID: job.id)
            guard let json = artifacts.first(where: { $0.name == "report.json" }) else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "job \(job.id) has no report yet (state: \(job.state.rawValue)); reports exist once an "
                        + "audit has succeeded: watch it with `rkdctl jobs watch \(job.id)`"
                )
            }
            guard let wanted = artifacts.first(where: { $0.name == name }) else {
                throw RPCError(
                    code: .notFound,
                    message: "job \(job.id) has no \(name); it has \(artifacts.map(\.name))"
                )
            }
            let root = self.context.artifacts.root
            let content: Data
            let report: AuditReport
            do {
                content = try Data(contentsOf: root.appendingPathComponent(wanted.relativePath))
                report = try JSONDecoder().decode(
                    AuditReport.self,
                    from: try Data(contentsOf: root.appendingPathComponent(json.relativePath))
                )
            } catch {
                throw RPCError(
                    code: .internalError,
                    message: "job \(job.id)'s report is recorded but unreadable: \(error)"
                )
            }
            var response = Rkd_V1_GetReportResponse()
            response.jobID = job.id
            response.format = request.message.format == .unspecified ? .json : request.message.format
            response.mediaType = mediaType
            response.content = content
            response.summary = Self.summary(report)
            return ServerResponse(message: response)
        }
    }

    /// The headline numbers of a report.
    static func summary(_ report: AuditReport) -> Rkd_V1_AuditSummary {
        var summary = Rkd_V1_AuditSummary()
        summary.cleanAccuracy = report.cleanAccuracy
        summary.robust = report.attacks.map { attack in
            var entry = Rkd_V1_RobustAccuracy()
            entry.attack = ProtoMapping.attackEnum(attack.name)
            entry.norm = attack.norm == "linf" ? .linf : .l2
            entry.epsilon = attack.epsilon
            entry.accuracy = attack.robustAccuracy
            entry.accuracyLow = attack.ci95[0]
            entry.accuracyHigh = attack.ci95[1]
            entry.examples = UInt32(report.data.count)
            return entry
        }
        summary.worstRobustAccuracy = report.attacks.map(\.robustAccuracy).min() ?? report.cleanAccuracy
        summary.verdict =
            switch report.verdict?.result {
            case "PASS": .pass
            case "FAIL": .fail
            default: .unspecified
            }
        summary.warnings = report.flags.filter { $0.severity == "warning" }.map { "\($0.id): \($0.finding)" }
        return summary
    }
}
