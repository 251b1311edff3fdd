import ArgumentParser
import DaemonAPI
import Foundation
import GRPCCore
import SwiftProtobuf

/// A stored teacher in rkdctl's JSON (`teacher list|show|import|remove`).
struct TeacherJSON: Encodable, Sendable {
    var name: String
    var modelDigest: String
    /// trained, imported or bundled.
    var source: String
    var jobId: String?
    var createdAt: String?
    var dataset: String
    var datasetClasses: [UInt32]?
    var inputShape: [Int64]
    var inputRange: [Float]
    var classNames: [String]
    var norm: String
    var epsilon: Float
    var architecture: String
    var recipe: String
    var seed: UInt64?
    var cleanAccuracy: Double?
    var pgdAccuracy: Double?
    var autoattackAccuracy: Double?
    var robustAccuracy: Double?
    var evalExamples: UInt32
    var trainingSeconds: Double?
    var validationAccuracy: [Double]?
    var rkdVersion: String?

    init(_ teacher: Rkd_V1_Teacher) {
        let manifest = teacher.manifest
        name = teacher.name
        modelDigest = teacher.modelDigest
        source = teacher.source.name
        jobId = teacher.jobID.isEmpty ? nil : teacher.jobID
        createdAt = teacher.hasCreatedAt ? teacher.createdAt.rfc3339 : nil
        dataset = manifest.dataset
        datasetClasses = manifest.datasetClasses.isEmpty ? nil : manifest.datasetClasses
        inputShape = manifest.inputShape
        inputRange = [manifest.inputMin, manifest.inputMax]
        classNames = manifest.classNames
        norm = manifest.norm == .l2 ? "l2" : "linf"
        epsilon = manifest.epsilon
        architecture = manifest.architecture
        recipe = manifest.recipe
        seed = manifest.hasSeed ? manifest.seed : nil
        cleanAccuracy = manifest.hasCleanAccuracy ? manifest.cleanAccuracy : nil
        pgdAccuracy = manifest.hasPgdAccuracy ? manifest.pgdAccuracy : nil
        autoattackAccuracy = manifest.hasAutoattackAccuracy ? manifest.autoattackAccuracy : nil
        robustAccuracy = manifest.hasRobustAccuracy ? manifest.robustAccuracy : nil
        evalExamples = manifest.evalExamples
        trainingSeconds = manifest.trainingSeconds > 0 ? manifest.trainingSeconds : nil
        validationAccuracy = manifest.validationAccuracy.isEmpty ? nil : manifest.validationAccuracy
        rkdVersion = manifest.rkdVersion.isEmpty ? nil : manifest.rkdVersion
    }
}

extension Rkd_V1_TeacherSource {
    var name: String {
        switch self {
        case .unspecified: "unknown"
        case .trained: "trained"
        case .imported: "imported"
        case .bundled: "bundled"
        case .UNRECOGNIZED(let value): "source-\(value)"
        }
    }
}

/// Human-readable teacher lines.
enum TeacherText {
    static func percent(_ value: Double?) -> String { value.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }

    static func threat(_ manifest: Rkd_V1_TeacherManifest) -> String {
        "\(manifest.norm == .l2 ? "L2" : "L∞") ε=\(manifest.epsilon)"
    }

    static func details(_ teacher: Rkd_V1_Teacher) -> [String] {
        let m = teacher.manifest
        var rows: [[String]] = [
            ["name", teacher.name],
            ["source", teacher.source.name + (teacher.jobID.isEmpty ? "" : " (job \(teacher.jobID))")],
            ["architecture", m.architecture],
            [
                "data set",
                m.dataset
                    + (m.datasetClasses.isEmpty
                        ? "" : " classes \(m.datasetClasses.map(String.init).joined(separator: ","))"),
            ],
            ["input", "\(m.inputShape.map(String.init).joined(separator: "×")) in [\(m.inputMin), \(m.inputMax)]"],
            ["classes", m.classNames.joined(separator: ", ")],
            ["threat model", threat(m)],
            ["clean accuracy", percent(m.hasCleanAccuracy ? m.cleanAccuracy : nil)],
            ["PGD-20 accuracy", percent(m.hasPgdAccuracy ? m.pgdAccuracy : nil)],
            ["AutoAttack accuracy", percent(m.hasAutoattackAccuracy ? m.autoattackAccuracy : nil)],
            ["evaluated on", m.evalExamples > 0 ? "\(m.evalExamples) test images" : "not evaluated"],
        ]
        if !m.validationAccuracy.isEmpty {
            rows.append(["validation by epoch", m.validationAccuracy.map { percent($0) }.joined(separator: ", ")])
        }
        if m.trainingSeconds > 0 { rows.append(["training time", "\(Int(m.trainingSeconds)) s"]) }
        if m.hasSeed { rows.append(["seed", "\(m.seed)"]) }
        rows.append(["recipe", m.recipe])
        rows.append(["digest", teacher.modelDigest])
        if !m.rkdVersion.isEmpty { rows.append(["rkd version", m.rkdVersion]) }
        if teacher.hasCreatedAt { rows.append(["stored", teacher.createdAt.rfc3339]) }
        return columns(rows.map { [$0[0] + ":", $0[1]] })
    }
}

/// `rkdctl teacher list`.
struct TeacherListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the stored teachers with their threat model and accuracies."
    )

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let daemon = try await global.daemon()
        let teachers = try await daemon.run { client in try await client.listTeachers(.init()).teachers }
        if json {
            try JSONOutput.print(teachers.map(TeacherJSON.init))
            return
        }
        guard !teachers.isEmpty else {
            printLine("no teachers stored; train one (rkdctl teacher train) or import one (rkdctl teacher import)")
            return
        }
        var rows = [["NAME", "SOURCE", "ARCHITECTURE", "DATA", "THREAT", "CLEAN", "ROBUST"]]
        for teacher in teachers {
            let m = teacher.manifest
            rows.append([
                teacher.name, teacher.source.name, m.architecture, m.dataset, TeacherText.threat(m),
                TeacherText.percent(m.hasCleanAccuracy ? m.cleanAccuracy : nil),
                TeacherText.percent(m.hasRobustAccuracy ? m.robustAccuracy : nil),
            ])
        }
        for line in columns(rows) { printLine(line) }
    }
}

/// `rkdctl teacher show NAME`.
struct TeacherShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one teacher's manifest: data, threat model, recipe, accuracies."
    )

    @Argument(help: ArgumentHelp("The teacher's name.", valueName: "name"))
    var name: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let teacher = try await Self.find(name, daemon: try await global.daemon())
        if json {
            try JSONOutput.print(TeacherJSON(teacher))
        } else {
            for line in TeacherText.details(teacher) { printLine(line) }
        }
    }

    /// The stored teacher named `name`, or exit 5 with the names there are.
    static func find(_ name: String, daemon: DaemonConnection) async throws -> Rkd_V1_Teacher {
        let teachers = try await daemon.run { client in try await client.listTeachers(.init()).teachers }
        guard let teacher = teachers.first(where: { $0.name == name }) else {
            throw CLIError(
                .notFound,
                "no teacher is named '\(name)'"
                    + (teachers.isEmpty
                        ? "; none is stored" : "; stored: \(teachers.map(\.name).joined(separator: ", "))")
            )
        }
        return teacher
    }
}

/// `rkdctl teacher import FILE.onnx`.
struct TeacherImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store an adversarially trained ONNX classifier made elsewhere as a teacher.",
        discussion: """
            The daemon checks that it can run the model, that it takes the stated input shape and that it \
            has one output per class name. State the threat model the teacher was trained against: \
            hardening transfers robustness at that budget, and a teacher without one is refused. \
            Accuracies you give are recorded as stated; `rkdctl audit` measures them.
            """
    )

    @Argument(help: ArgumentHelp("The teacher's ONNX file.", valueName: "teacher.onnx"))
    var file: String

    @Option(help: ArgumentHelp("The name to store it under.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("What it was trained on, e.g. fashion-mnist.", valueName: "name"))
    var data: String

    @Option(help: ArgumentHelp("One example's shape, channels,height,width, e.g. 1,28,28.", valueName: "c,h,w"))
    var inputShape: String

    @Option(help: ArgumentHelp("The input values it expects, min,max.", valueName: "min,max"))
    var inputRange = "0,1"

    @Option(
        help: ArgumentHelp(
            "The class names by output, comma-separated; default: the data set's if the daemon knows it.",
            valueName: "names"
        )
    )
    var classNames: String?

    @Option(help: ArgumentHelp("The norm it was trained against: linf or l2.", valueName: "norm"))
    var norm: String

    @Option(name: .customLong("eps"), help: ArgumentHelp("The budget ε it was trained against.", valueName: "ε"))
    var epsilon: Float

    @Option(help: ArgumentHelp("The architecture, for people.", valueName: "text"))
    var architecture = ""

    @Option(help: ArgumentHelp("How it was made, for people (command, paper, seed).", valueName: "text"))
    var recipe = ""

    @Flag(help: "Replace a teacher of the same name.")
    var replace = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard ["linf", "l2"].contains(norm) else { throw ValidationError("--norm must be linf or l2, not '\(norm)'") }
        guard epsilon > 0, epsilon.isFinite else { throw ValidationError("--eps must be the training budget, > 0") }
        _ = try shape()
        _ = try range()
    }

    func shape() throws -> [Int64] {
        let values = inputShape.split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 3, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--input-shape is channels,height,width, e.g. 1,28,28")
        }
        return values.compactMap { $0 }
    }

    func range() throws -> (Float, Float) {
        let values = inputRange.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 2, let low = values[0], let high = values[1], low < high else {
            throw ValidationError("--input-range is min,max with min < max, e.g. 0,1")
        }
        return (low, high)
    }

    func run() async throws {
        let local = try LocalFile(file, what: "teacher")
        let shape = try shape()
        let (low, high) = try range()
        let daemon = try await global.daemon()
        var names = classNames.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if names == nil {
            let datasets = try await daemon.run { client in try await client.listDatasets(.init()).datasets }
            guard let known = datasets.first(where: { $0.name == data }) else {
                throw CLIError(
                    .invalidInput,
                    "the daemon does not know data set '\(data)'; give the class names (--class-names a,b,c)"
                )
            }
            names = known.classNames
        }
        let request = Rkd_V1_ImportTeacherRequest.with {
            $0.name = name
            $0.replace = replace
            $0.manifest = .with {
                $0.dataset = data
                $0.inputShape = shape
                $0.inputMin = low
                $0.inputMax = high
                $0.classNames = names ?? []
                $0.norm = norm == "l2" ? .l2 : .linf
                $0.epsilon = epsilon
                $0.architecture = architecture
                $0.recipe = recipe
            }
        }
        let teacher = try await daemon.run { client in
            var request = request
            request.modelDigest = try await client.upload(local).digest
            return try await client.importTeacher(request)
        }
        if json {
            try JSONOutput.print(TeacherJSON(teacher))
        } else {
            printLine("teacher '\(teacher.name)' imported (\(teacher.modelDigest))")
        }
    }
}

/// `rkdctl teacher remove NAME`.
struct TeacherRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Delete a stored teacher (jobs that already loaded it are not affected)."
    )

    @Argument(help: ArgumentHelp("The teacher's name.", valueName: "name"))
    var name: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let daemon = try await global.daemon()
        let name = name
        let removed = try await daemon.run { client in
            try await client.removeTeacher(.with { $0.name = name }).teacher
        }
        if json {
            try JSONOutput.print(TeacherJSON(removed))
        } else {
            printLine("teacher '\(name)' removed")
        }
    }
}

/// `rkdctl teacher export NAME -o FILE`.
struct TeacherExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a stored teacher's ONNX file (and its manifest) to disk.",
        discussion: """
            Writes the ONNX file to --output and, with --manifest, the manifest JSON beside it. The daemon \
            checks the file against the digest in the manifest before sending it.
            """
    )

    @Argument(help: ArgumentHelp("The teacher's name.", valueName: "name"))
    var name: String

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("Where to write the ONNX file.", valueName: "file")
    )
    var output: String

    @Option(help: ArgumentHelp("Also write the manifest JSON here.", valueName: "file"))
    var manifest: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let daemon = try await global.daemon()
        var written: [String: String] = [:]
        for (file, path) in [("teacher.onnx", output), ("manifest.json", manifest)] {
            guard let path else { continue }
            let name = name
            let bytes = try await daemon.run { client in
                try await client.downloadTeacher(
                    .with {
                        $0.name = name
                        $0.file = file
                    }
                ) { response in
                    try await collectDownload(response, name: file)
                }
            }
            try ReportCommand.write(bytes, to: path)
            written[file] = path
            if !json { printLine("wrote \(path)") }
        }
        if json { try JSONOutput.print(written) }
    }
}
