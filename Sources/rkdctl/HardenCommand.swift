import ArgumentParser
import DaemonAPI
import Foundation
import GRPCCore
import SwiftProtobuf

/// `rkdctl harden MODEL.onnx --teacher NAME -o OUT.onnx`: a hardening job.
struct HardenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harden",
        abstract: "Make an ONNX classifier more robust by distilling from a robust teacher (Robust-KD).",
        discussion: """
            Uploads the model, audits it, trains its weights on clean examples so that its feature maps \
            and input Jacobians follow the stored teacher's (Robust-KD: cross-entropy + α·feature \
            distance + β·projected-Jacobian distance), writes your own ONNX graph back with only the \
            trained weights replaced (to -o), audits it again with the same attacks on the same examples, \
            and prints the two side by side with the hardened model's reliability flags.

            Methods: robust-kd (the default), shafahi (last-layer feature distillation, Shafahi et al. \
            2020), finetune (cross-entropy only: what the distillation adds), adversarial (PGD \
            adversarial training of the model itself, no teacher: the expensive reference; give --eps).

            Feature maps are paired by spatial resolution (each teacher stage with the model's last map \
            of that size, through a learned 1×1 adapter that is thrown away), or by --pair \
            teacherTensor=modelTensor. --init-from teacher starts from the teacher's weights when the model \
            has the teacher's architecture.

            Defaults: the train split of fashion-mnist (--data), α 50, β 5e-3, 1 projection spanning the \
            paired layers (--projection joint), cosine distance, exact Jacobian, 10 epochs of batch 128, learning rate 0.01 (cosine), the quick \
            audit (FGSM, PGD-20 and AutoAttack at the teacher's ε on 200 test images).

            The job checkpoints and resumes after a restart; Ctrl-C stops watching, not the job. With \
            --detach it prints the job id; `rkdctl jobs download ID hardened.onnx -o FILE` fetches the \
            result later (harden.json and report.* too).
            """
    )

    @Argument(help: ArgumentHelp("The ONNX model file.", valueName: "model.onnx"))
    var model: String

    @Option(help: ArgumentHelp("The stored teacher (rkdctl teacher list).", valueName: "name"))
    var teacher: String?

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("Where to write the hardened model.", valueName: "file")
    )
    var output: String?

    @Option(help: ArgumentHelp("robust-kd, shafahi, finetune or adversarial.", valueName: "method"))
    var method = "robust-kd"

    @Option(help: ArgumentHelp("A data set of the daemon (train split).", valueName: "name"))
    var data = "fashion-mnist"

    @Option(help: ArgumentHelp("Train on these classes only, e.g. 5,6,7,8,9.", valueName: "ids"))
    var classes: String?

    @Option(help: ArgumentHelp("Train on one half of the split: first or second.", valueName: "half"))
    var half: String?

    @Option(
        help: ArgumentHelp(
            "Weight of the feature term (Shafahi: λ); default 50, or 1e-3 with --distance l2.",
            valueName: "α"
        )
    )
    var alpha: Float?

    @Option(help: ArgumentHelp("Weight of the Jacobian term; 0 turns it off.", valueName: "β"))
    var beta: Float?

    @Option(help: ArgumentHelp("Random projections per step.", valueName: "n"))
    var projections: Int?

    @Option(help: ArgumentHelp("exact (double backward) or fd (finite differences).", valueName: "mode"))
    var jacobian = "exact"

    @Option(help: ArgumentHelp("The finite-difference step h.", valueName: "h"))
    var fdStep: Float?

    @Option(
        help: ArgumentHelp(
            "joint (one projected Jacobian spanning every paired layer: the per-layer sum's expected "
                + "loss, one input gradient per network instead of one per layer, so a cheaper step; as "
                + "robust as per-layer in the three experiments of docs/EXPERIMENTS.md) or per-layer (the "
                + "paper's: one per paired layer).",
            valueName: "scope"
        )
    )
    var projection = "joint"

    @Option(
        help: ArgumentHelp(
            "cosine or l2. l2 sums squared differences over each whole map (thousands of values), so its "
                + "--alpha default is 1e-3, not 50.",
            valueName: "distance"
        )
    )
    var distance = "cosine"

    @Option(
        name: .customLong("pair"),
        help: ArgumentHelp("A feature pair teacherTensor=modelTensor (repeatable).", valueName: "t=s")
    )
    var pairs: [String] = []

    @Option(help: ArgumentHelp("Where the weights start: model or teacher.", valueName: "from"))
    var initFrom = "model"

    @Option(help: ArgumentHelp("Passes over the training examples.", valueName: "n"))
    var epochs: Int?

    @Option(help: ArgumentHelp("Examples per step.", valueName: "n"))
    var batchSize: Int?

    @Option(help: ArgumentHelp("The initial learning rate (cosine decay unless --lr-steps).", valueName: "rate"))
    var learningRate: Float?

    @OptionGroup var decay: DecayOptions

    @Option(help: ArgumentHelp("The seed of every random choice.", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(
        name: .customLong("eps"),
        help: ArgumentHelp("Adversarial training's budget (method adversarial).", valueName: "ε")
    )
    var epsilon: Float?

    @Option(help: ArgumentHelp("PGD iterations per training step (method adversarial; default 7).", valueName: "n"))
    var steps: Int?

    @Option(help: ArgumentHelp("PGD step size (method adversarial; default 2.5·ε/steps).", valueName: "size"))
    var stepSize: Float?

    @Option(help: ArgumentHelp("The audit before and after: quick, standard or none.", valueName: "level"))
    var audit = "quick"

    @Option(help: ArgumentHelp("Write the reports (before, after, comparison) here.", valueName: "dir"))
    var reportDir: String?

    @Flag(help: "Submit the job, print its id and return without waiting.")
    var detach = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard ["robust-kd", "shafahi", "finetune", "adversarial"].contains(method) else {
            throw ValidationError("--method must be robust-kd, shafahi, finetune or adversarial, not '\(method)'")
        }
        if ["robust-kd", "shafahi"].contains(method) || initFrom == "teacher" {
            guard teacher != nil else { throw ValidationError("--teacher NAME is needed (rkdctl teacher list)") }
        }
        if method == "adversarial" {
            guard let epsilon, epsilon > 0 else { throw ValidationError("--method adversarial needs --eps, e.g. 0.1") }
        } else if steps != nil || stepSize != nil {
            throw ValidationError("--steps and --step-size set the PGD of --method adversarial only")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be ≥ 1, not \(steps)") }
        if let stepSize, !(stepSize > 0) { throw ValidationError("--step-size must be > 0") }
        guard ["exact", "fd"].contains(jacobian) else { throw ValidationError("--jacobian must be exact or fd") }
        guard ["per-layer", "joint"].contains(projection) else {
            throw ValidationError("--projection must be per-layer or joint")
        }
        guard ["cosine", "l2"].contains(distance) else { throw ValidationError("--distance must be cosine or l2") }
        guard ["model", "teacher"].contains(initFrom) else {
            throw ValidationError("--init-from must be model or teacher")
        }
        guard ["quick", "standard", "none"].contains(audit) else {
            throw ValidationError("--audit must be quick, standard or none")
        }
        if let half, !["first", "second"].contains(half) { throw ValidationError("--half must be first or second") }
        if !detach, output == nil { throw ValidationError("-o OUT.onnx is needed (or --detach)") }
        _ = try pairList()
        _ = try classList()
        for (flag, value) in [("--epochs", epochs), ("--batch-size", batchSize), ("--projections", projections)] {
            if let value, value < 1 { throw ValidationError("\(flag) must be at least 1") }
        }
    }

    func pairList() throws -> [Rkd_V1_LayerPair] {
        try pairs.map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--pair takes teacherTensor=modelTensor, not '\(text)'")
            }
            return .with {
                $0.teacher = parts[0]
                $0.student = parts[1]
            }
        }
    }

    func classList() throws -> [UInt32] { try parseClassList(classes, example: "5,6,7,8,9") }

    var spec: Rkd_V1_HardenSpec {
        get throws {
            var spec = Rkd_V1_HardenSpec()
            spec.teacher = teacher ?? ""
            spec.method =
                switch method {
                case "shafahi": .shafahi
                case "finetune": .finetune
                case "adversarial": .adversarialTraining
                default: .robustKd
                }
            if let alpha { spec.alpha = alpha }
            if let beta { spec.beta = beta }
            if let projections { spec.projections = UInt32(projections) }
            spec.jacobian = jacobian == "fd" ? .finiteDifference : .exact
            if let fdStep { spec.finiteDifferenceStep = fdStep }
            spec.projectionScope = projection == "joint" ? .joint : .perLayer
            spec.featureDistance = distance == "l2" ? .l2 : .cosine
            spec.layers = try pairList()
            spec.init_p = initFrom == "teacher" ? .teacher : .model
            let classes = try classList()
            spec.data = .with {
                $0.name = data
                $0.split = .train
                $0.classes = classes
                if let half { $0.half = half == "first" ? .first : .second }
            }
            spec.schedule = .with {
                if let epochs { $0.epochs = UInt32(epochs) }
                if let batchSize { $0.batchSize = UInt32(batchSize) }
                if let learningRate { $0.learningRate = learningRate }
                $0.seed = seed
                decay.apply(to: &$0)
            }
            if method == "adversarial", let epsilon {
                spec.adversarial = .with {
                    $0.norm = .linf
                    $0.epsilon = epsilon
                    if let steps { $0.steps = UInt32(steps) }
                    if let stepSize { $0.stepSize = stepSize }
                }
            }
            spec.auditLevel =
                switch audit {
                case "standard": .standard
                case "none": .none
                default: .quick
                }
            return spec
        }
    }

    func run() async throws {
        let modelFile = try LocalFile(model, what: "model")
        if let reportDir { try AuditCommand.checkDirectory(reportDir) }
        let spec = try spec
        let daemon = try await global.daemon()
        let job = try await daemon.run { client in
            let upload = try await client.upload(modelFile)
            let info = try await client.inspectModel(.with { $0.modelDigest = upload.digest })
            guard info.fullySupported else {
                let nodes = info.unsupportedNodes.map { "  \($0.nodeName) (\($0.opType)): \($0.reason)" }
                throw CLIError(.failure, "rkd cannot run \(modelFile.path):\n" + nodes.joined(separator: "\n"))
            }
            return try await client.submitHarden(
                .with {
                    $0.modelDigest = upload.digest
                    $0.spec = spec
                }
            )
        }
        if !json {
            printLine(
                "hardening \(modelFile.path) with \(method)" + (teacher.map { " from teacher '\($0)'" } ?? "")
                    + " on \(data), seed \(seed) (job \(job.id))"
            )
        }
        if detach {
            if json { try JSONOutput.print(["job_id": job.id]) } else { printLine("job \(job.id) queued") }
            return
        }
        try await JobFollower.follow(job.id, daemon: daemon, silent: json)
        guard let output else { return }
        let hardened = try await Self.download(job.id, "hardened.onnx", daemon: daemon)
        try ReportCommand.write(hardened, to: output)
        let summary = try await Self.download(job.id, "harden.json", daemon: daemon)
        if let reportDir {
            for name in [
                "report.md", "report.html", "report-before.json", "report-before.md", "report-before.html",
                "report-after.json", "report-after.md", "report-after.html", "harden.json",
            ] {
                guard let bytes = try? await Self.download(job.id, name, daemon: daemon) else { continue }
                try ReportCommand.write(bytes, to: URL(fileURLWithPath: reportDir).appendingPathComponent(name).path)
            }
        }
        if json {
            FileHandle.standardOutput.write(summary)
            printLine("")
            return
        }
        printLine("wrote \(output)")
        let object = (try? JSONSerialization.jsonObject(with: summary)) as? [String: Any]
        if let rows = object?["rows"] as? [[String: Any]], !rows.isEmpty {
            var table = [["ATTACK", "ε", "BEFORE", "AFTER"]]
            func percent(_ value: Any?) -> String {
                (value as? Double).map { String(format: "%.1f %%", 100 * $0) } ?? "–"
            }
            for row in rows {
                table.append([
                    row["attack"] as? String ?? "?", (row["epsilon"] as? Double).map { "\(Float($0))" } ?? "–",
                    percent(row["before"]), percent(row["after"]),
                ])
            }
            for line in columns(table) { printLine(line) }
            let flags = object?["flags_after"] as? [String] ?? object?["flagsAfter"] as? [String] ?? []
            printLine(
                "reliability flags of the hardened model: "
                    + (flags.isEmpty ? "none fired" : flags.joined(separator: ", "))
            )
        }
    }

    /// One artifact of a job (DownloadArtifact), checked against its announced size.
    static func download(_ jobID: String, _ name: String, daemon: DaemonConnection) async throws -> Data {
        try await daemon.run { client in
            try await client.downloadArtifact(
                .with {
                    $0.jobID = jobID
                    $0.name = name
                }
            ) { response in
                try await collectDownload(response, name: name)
            }
        }
    }
}

/// The bytes of a DownloadArtifact or DownloadTeacher stream (an info message, then chunks), checked
/// against the size the info announced.
func collectDownload(
    _ response: StreamingClientResponse<Rkd_V1_DownloadArtifactResponse>,
    name: String
) async throws -> Data {
    var data = Data()
    var size: UInt64 = 0
    for try await message in response.messages {
        switch message.content {
        case .info(let info): size = info.artifact.sizeBytes
        case .chunk(let chunk): data.append(chunk)
        case nil: break
        }
    }
    guard UInt64(data.count) == size else {
        throw CLIError(.failure, "the download of \(name) was cut short (\(data.count) of \(size) bytes)")
    }
    return data
}
