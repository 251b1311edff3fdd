import ArgumentParser
import DaemonAPI
import Foundation
import SwiftProtobuf

/// `rkdctl audit MODEL.onnx`: uploads the model, runs an audit job, follows it, prints the results and
/// the reliability flags, writes the reports, and turns a FAIL verdict into exit status 8.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Measure how robust an ONNX classifier is against adversarial attacks.",
        discussion: """
            Uploads the model, runs the attacks at each budget ε on examples of a data set in rkdd, and \
            prints robust accuracy (the share of examples still classified correctly under attack) with \
            95 % Wilson intervals, the worst case over attacks, and the audit's reliability flags (signs \
            that the numbers cannot be trusted, such as gradient masking).

            Defaults (printed when the audit starts): the first 1000 test examples of fashion-mnist, the \
            L∞ norm at the data set's middle customary budget (fashion-mnist: 0.1; L2: 1.0), attacks fgsm \
            and pgd (early numbers) then autoattack (the AutoAttack standard: APGD-CE, APGD-T, FAB-T, \
            Square), seed 0.

            Attacks: fgsm, pgd, mi-fgsm, cw-l2, apgd-ce, apgd-t, fab-t, square, autoattack; settings \
            after a colon, e.g. --attack pgd:steps=20,restarts=2,step_size=0.01 (square's steps are its \
            queries). Repeat --attack for several.

            The audit is a daemon job: Ctrl-C stops watching, not the job (`rkdctl jobs cancel ID` stops \
            it); --detach prints the job id and returns at once (`rkdctl report ID` fetches the report \
            later). A stopped or restarted daemon resumes the audit where it was.

            Exit status: 0 done (PASS or no --fail-under); 8 the verdict is FAIL (some robust accuracy \
            below --fail-under); the others as `rkdctl --help` lists.
            """
    )

    @Argument(help: ArgumentHelp("The ONNX model file.", valueName: "model.onnx"))
    var model: String

    @Option(help: ArgumentHelp("A data set of the daemon (the ListDatasets RPC lists them).", valueName: "name"))
    var data = "fashion-mnist"

    @Option(
        help: ArgumentHelp(
            "Audit your own images instead: (N,C,H,W) or (N,H,W) .npy in [0, 1] or uint8 (needs --labels, --eps).",
            valueName: "x.npy"
        )
    )
    var inputs: String?

    @Option(help: ArgumentHelp("The class index of each --inputs image (.npy, integers).", valueName: "y.npy"))
    var labels: String?

    @Option(help: ArgumentHelp("The split: test or train.", valueName: "split"))
    var split = "test"

    @Option(
        help: ArgumentHelp(
            "Audit on these classes only, e.g. 5,6,7,8,9 (a model with one output per listed class sees them "
                + "numbered 0.. in this order).",
            valueName: "ids"
        )
    )
    var classes: String?

    @Option(help: ArgumentHelp("How many examples, the first of the split; 0: all.", valueName: "n"))
    var samples: Int = 1000

    @Option(
        help: ArgumentHelp(
            "Skip this many examples of the selection first: --samples 500 --sample-offset 500 audits examples "
                + "500-999. Each example's outcome does not depend on the slice, so slices with the same settings "
                + "add up to one audit of the whole (split a long audit across machines or days).",
            valueName: "k"
        )
    )
    var sampleOffset: Int = 0

    @Option(
        name: .customLong("attack"),
        help: ArgumentHelp("An attack, optionally with settings (repeatable).", valueName: "name[:k=v,...]")
    )
    var attacks: [String] = []

    @Option(help: ArgumentHelp("The threat model's norm: linf or l2.", valueName: "norm"))
    var norm = "linf"

    @Option(
        name: .customLong("eps"),
        parsing: .upToNextOption,
        help: ArgumentHelp("Budgets ε in [0, 1] pixel units (several allowed, or comma-separated).", valueName: "ε")
    )
    var epsilons: [String] = []

    @Option(help: ArgumentHelp("Iterations for every attack without its own steps=.", valueName: "n"))
    var steps: Int?

    @Option(help: ArgumentHelp("The seed of every random choice.", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(
        help: ArgumentHelp(
            "Examples per batch (results do not depend on it); the long attacks (AutoAttack, APGD-T, FAB-T, "
                + "Square, C&W) take at most 32 at a time.",
            valueName: "n"
        )
    )
    var batchSize: Int = 100

    @Option(
        help: ArgumentHelp(
            "Also measure PGD's robust accuracy at these iteration counts ('paper': 0,7,25,100,250,1000).",
            valueName: "counts"
        )
    )
    var stepsCurve: String?

    @Option(help: ArgumentHelp("Examples for the steps curve, the first of the audit's.", valueName: "n"))
    var curveSamples: Int = 100

    @Option(help: ArgumentHelp("Pass mark: exit 8 when any robust accuracy is below it.", valueName: "0..1"))
    var failUnder: Double?

    @Option(help: ArgumentHelp("Write report.json, report.md and report.html here.", valueName: "dir"))
    var reportDir: String?

    @Flag(help: "Submit the audit, print its job id and return without waiting.")
    var detach = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    /// The budgets the flags give, or the data set's middle customary one.
    var budgetList: [Float] {
        get throws {
            let values = epsilons.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            var out: [Float] = []
            for text in values where !text.isEmpty {
                guard let value = Float(text), value > 0, value.isFinite else {
                    throw ValidationError("--eps: '\(text)' is not a budget > 0 (e.g. --eps 0.1 or --eps 0.05,0.1)")
                }
                out.append(value)
            }
            if out.isEmpty && inputs != nil {
                throw ValidationError("--inputs has no customary budget; give one, e.g. --eps 0.1")
            }
            if out.isEmpty {
                let middle: [String: (Float, Float)] = [
                    "fashion-mnist": (0.1, 1.0), "mnist": (0.2, 2.0), "cifar-10": (4.0 / 255, 0.5),
                ]
                guard let pair = middle[data] else {
                    throw ValidationError("--eps: data set '\(data)' has no customary budget; give one, e.g. --eps 0.1")
                }
                out = [norm == "l2" ? pair.1 : pair.0]
            }
            return out
        }
    }

    func validate() throws {
        guard ["linf", "l2"].contains(norm) else { throw ValidationError("--norm must be linf or l2, not '\(norm)'") }
        guard ["test", "train"].contains(split) else { throw ValidationError("--split must be test or train") }
        _ = try parseClassList(classes, example: "5,6,7,8,9")
        if classes != nil, inputs != nil {
            throw ValidationError("--classes selects from --data; with --inputs, pass only the images you want audited")
        }
        guard (inputs == nil) == (labels == nil) else {
            throw ValidationError("--inputs and --labels go together: the images and one class index per image")
        }
        guard samples >= 0 else { throw ValidationError("--samples must be ≥ 0 (0: the whole split)") }
        guard sampleOffset >= 0 else { throw ValidationError("--sample-offset must be ≥ 0 (0: from the first)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1") }
        if let steps, steps < 1 { throw ValidationError("--steps must be ≥ 1") }
        if let failUnder, !(0...1).contains(failUnder) {
            throw ValidationError("--fail-under is a robust accuracy in [0, 1] (0.4 for 40 %), not \(failUnder)")
        }
        _ = try budgetList
        _ = try attackConfigs()
        _ = try curveCounts()
        guard curveSamples >= 1 else { throw ValidationError("--curve-samples must be ≥ 1") }
    }

    /// The steps curve's iteration counts, if asked for.
    func curveCounts() throws -> [UInt32]? {
        guard let stepsCurve else { return nil }
        if stepsCurve == "paper" { return [0, 7, 25, 100, 250, 1000] }
        let counts = stepsCurve.split(separator: ",").map { UInt32($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--steps-curve takes whole numbers separated by commas (e.g. 0,7,25,100) or 'paper'")
        }
        return counts.compactMap { $0 }
    }

    /// The attacks to run, parsed from --attack (default fgsm, pgd, autoattack).
    func attackConfigs() throws -> [Rkd_V1_AttackConfig] {
        let specs = attacks.isEmpty ? ["fgsm", "pgd", "autoattack"] : attacks
        return try specs.map { text in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts.first ?? ""
            var config = Rkd_V1_AttackConfig()
            guard let attack = Names.attack(name) else {
                throw ValidationError(
                    "--attack: unknown attack '\(name)'; choose from \(Names.attackNames.joined(separator: ", "))"
                )
            }
            config.attack = attack
            if let steps { config.steps = UInt32(steps) }
            for setting in parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : [] {
                let pair = setting.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else {
                    throw ValidationError(
                        "--attack \(name): '\(setting)' is not key=value (steps, step_size, restarts)"
                    )
                }
                switch pair[0] {
                case "steps", "queries":
                    guard let value = UInt32(pair[1]), value >= 1 else {
                        throw ValidationError("--attack \(name): steps must be a whole number ≥ 1")
                    }
                    config.steps = value
                case "step_size", "step-size":
                    guard let value = Float(pair[1]), value > 0 else {
                        throw ValidationError("--attack \(name): step_size must be a number > 0")
                    }
                    config.stepSize = value
                case "restarts":
                    guard let value = UInt32(pair[1]) else {
                        throw ValidationError("--attack \(name): restarts must be a whole number ≥ 0")
                    }
                    config.restarts = value
                default:
                    throw ValidationError("--attack \(name): unknown setting '\(pair[0])' (steps, step_size, restarts)")
                }
            }
            return config
        }
    }

    func run() async throws {
        let modelFile = try LocalFile(model, what: "model")
        let inputsFile = try inputs.map { try LocalFile($0, what: "inputs") }
        let labelsFile = try labels.map { try LocalFile($0, what: "labels") }
        if let reportDir { try Self.checkDirectory(reportDir) }
        let configs = try attackConfigs()
        let budgets = try budgetList
        var spec = Rkd_V1_AuditSpec()
        spec.attacks = configs
        spec.norm = norm == "l2" ? .l2 : .linf
        spec.epsilons = budgets
        spec.data = .with {
            $0.name = data
            $0.split = split == "train" ? .train : .test
            $0.classes = (try? parseClassList(classes, example: "5,6,7,8,9")) ?? []
        }
        spec.numExamples = UInt32(samples)
        spec.firstExample = UInt32(sampleOffset)
        spec.batchSize = UInt32(batchSize)
        spec.seed = seed
        if let failUnder { spec.failUnder = failUnder }
        if let counts = try curveCounts() {
            spec.stepsCurve.steps = counts
            spec.stepsCurve.numExamples = UInt32(curveSamples)
        }

        let daemon = try await global.daemon()
        let job = try await daemon.run { client in
            var spec = spec
            if let inputsFile, let labelsFile {
                spec.data.inputsNpyDigest = try await client.upload(inputsFile).digest
                spec.data.labelsNpyDigest = try await client.upload(labelsFile).digest
            }
            let upload = try await client.upload(modelFile)
            let info = try await client.inspectModel(.with { $0.modelDigest = upload.digest })
            guard info.fullySupported else {
                let nodes = info.unsupportedNodes.map { "  \($0.nodeName) (\($0.opType)): \($0.reason)" }
                throw CLIError(.failure, "rkd cannot run \(modelFile.path):\n" + nodes.joined(separator: "\n"))
            }
            let job = try await client.submitAudit(
                .with {
                    $0.modelDigest = upload.digest
                    $0.spec = spec
                }
            )
            // A daemon older than first_example ignores it and would audit from the first example.
            if spec.firstExample > 0, job.audit.firstExample != spec.firstExample {
                _ = try? await client.cancelJob(.with { $0.jobID = job.id })
                throw CLIError(
                    .failure,
                    "rkdd ignored --sample-offset (it is older than this rkdctl), so job \(job.id) would have audited "
                        + "from the first example; it was cancelled. Upgrade rkdd, or audit without --sample-offset"
                )
            }
            return job
        }
        if !json {
            let names = configs.map { Names.attackName($0.attack) }
            printLine(
                "auditing \(modelFile.path): \(samples == 0 ? "all" : "\(samples)") "
                    + (inputs.map { "examples of \($0)" } ?? "\(data) \(split) examples")
                    + (sampleOffset > 0 ? " from example \(sampleOffset) on, " : ", ")
                    + "\(norm == "l2" ? "L2" : "L∞") ε \(budgets.map { "\($0)" }.joined(separator: ", ")), "
                    + "attacks \(names.joined(separator: ", ")), seed \(seed) (job \(job.id))"
            )
        }
        if detach {
            if json { try JSONOutput.print(["job_id": job.id]) } else { printLine("job \(job.id) queued") }
            return
        }
        try await JobFollower.follow(job.id, daemon: daemon, silent: json)
        let response = try await daemon.run { client in
            try await client.getReport(.with { $0.jobID = job.id }, options: largeMessageOptions)
        }
        let report = try AuditReportText(json: response.content)
        if let reportDir {
            try await ReportCommand.writeAll(jobID: job.id, daemon: daemon, directory: reportDir, quiet: json)
        }
        if json {
            try JSONOutput.print(report.jsonSummary(jobID: job.id))
        } else {
            for line in report.summaryLines() { printLine(line) }
        }
        if report.verdictResult == "FAIL" {
            throw CLIError(
                .auditFailed,
                "FAIL: the lowest robust accuracy is below the pass mark \(failUnder ?? 0) (job \(job.id))"
            )
        }
    }

    static func checkDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CLIError(.invalidInput, "--report-dir \(path) is not a directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw CLIError(.invalidInput, "cannot create --report-dir \(path): \(error.localizedDescription)")
            }
        }
    }
}
