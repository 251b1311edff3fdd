import ArgumentParser
import DaemonAPI
import Foundation
import SwiftProtobuf

/// `rkdctl report JOB`: fetches an audit's report (GetReport).
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Fetch the report of a finished audit.",
        discussion: """
            Prints the report of an audit job (or writes it with -o): JSON (schema rkd.audit/1, every \
            attack setting, seed and sample index), Markdown, or a self-contained HTML page with plots. \
            Exit status 1 when the job has no report yet (it is still running or failed).
            """
    )

    @Argument(help: ArgumentHelp("The audit job's id, or enough of its start to name one job.", valueName: "id"))
    var id: String

    @Option(help: ArgumentHelp("json, md or html.", valueName: "format"))
    var format = "json"

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write to this file.", valueName: "file"))
    var output: String?

    @OptionGroup var global: GlobalOptions

    static let formats: [String: (Rkd_V1_ReportFormat, String)] = [
        "json": (.json, "report.json"), "md": (.markdown, "report.md"), "markdown": (.markdown, "report.md"),
        "html": (.html, "report.html"),
    ]

    func validate() throws {
        guard Self.formats[format] != nil else { throw ValidationError("--format must be json, md or html") }
    }

    func run() async throws {
        let daemon = try await global.daemon()
        let wanted = Self.formats[format]?.0 ?? .json
        let id = try await daemon.jobID(id)
        let response = try await daemon.run { client in
            try await client.getReport(
                .with {
                    $0.jobID = id
                    $0.format = wanted
                },
                options: largeMessageOptions
            )
        }
        if let output {
            try Self.write(response.content, to: output)
            printLine("wrote \(output)")
        } else {
            FileHandle.standardOutput.write(response.content)
        }
    }

    /// Fetches every format of a job's report into `directory`.
    static func writeAll(jobID: String, daemon: DaemonConnection, directory: String, quiet: Bool) async throws {
        for (format, name) in [
            (Rkd_V1_ReportFormat.json, "report.json"), (.markdown, "report.md"), (.html, "report.html"),
        ] {
            let response: Rkd_V1_GetReportResponse
            do {
                response = try await daemon.run { client in
                    try await client.getReport(
                        .with {
                            $0.jobID = jobID
                            $0.format = format
                        },
                        options: largeMessageOptions
                    )
                }
            } catch let error as CLIError where error.status == .notFound {
                continue  // an older daemon without this format
            }
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            try write(response.content, to: path)
            if !quiet { printLine("wrote \(path)") }
        }
    }

    static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIError(.invalidInput, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
