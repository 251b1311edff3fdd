import ArgumentParser
import DaemonAPI
import Foundation

/// `rkdctl jobs download ID NAME -o FILE`: one artifact of a job (DownloadArtifact), for jobs submitted
/// with --detach.
struct JobsDownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Save one artifact of a job: a hardened model, a report, a teacher.",
        discussion: """
            `rkdctl jobs show ID` lists a job's artifacts. A job submitted with --detach keeps its \
            artifacts in the daemon: a hardening job's hardened.onnx, harden.json and reports, an audit's \
            report.json/.md/.html, a teacher-training job's teacher.onnx and manifest.json. The file is \
            written only when the download is complete.
            """
    )

    @Argument(help: ArgumentHelp("The job's id, or enough of its start to name one job.", valueName: "id"))
    var id: String

    @Argument(help: ArgumentHelp("The artifact's name, e.g. hardened.onnx.", valueName: "name"))
    var name: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write it.", valueName: "file"))
    var output: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let daemon = try await global.daemon()
        let bytes = try await HardenCommand.download(try await daemon.jobID(id), name, daemon: daemon)
        try ReportCommand.write(bytes, to: output)
        printLine("wrote \(output) (\(bytes.count) bytes)")
    }
}
