import ArgumentParser
import DaemonAPI
import Foundation
import SwiftProtobuf

/// `rkdctl teacher …`: the teacher store.
struct TeacherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract: "Train, list and manage the robust teachers that hardening distils from.",
        discussion: """
            A teacher is an adversarially trained classifier stored in rkdd with a manifest: the data set, \
            input shape and range, class names, the threat model it was trained against, its recipe and \
            seed, and its clean and robust accuracy measured by an audit (PGD-20 and AutoAttack standard).
            """,
        subcommands: [
            TeacherTrainCommand.self, TeacherListCommand.self, TeacherShowCommand.self, TeacherImportCommand.self,
            TeacherRemoveCommand.self, TeacherExportCommand.self,
        ]
    )
}

/// `rkdctl teacher train`: a teacher-training job.
struct TeacherTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a robust teacher with PGD adversarial training and store it.",
        discussion: """
            Runs PGD adversarial training (Madry et al.: every step trains on PGD examples at the budget, \
            batch norm in training mode) as a daemon job, or with --trades β TRADES (Zhang et al. 2019: \
            clean cross-entropy + β·KL between the clean and the PGD-perturbed predictions, the stronger \
            recipe), then audits the result at the same threat model \
            (PGD-20 and AutoAttack standard on --eval-samples test images) and stores the teacher under \
            --name with its manifest.

            Adversarial training is slow on a CPU: a ResNet-20 on Fashion-MNIST runs about 40 images/s on \
            two idle cores with 7 PGD steps (about 25 minutes per epoch; fewer --steps run faster). The job checkpoints every \
            --checkpoint-every steps and when the daemon stops; a restarted daemon resumes it to the same \
            weights. Ctrl-C stops watching, not the job (`rkdctl jobs cancel ID` stops it); --detach \
            returns at once.

            Defaults: the train split of fashion-mnist, ResNet-20 of width 16, L∞ ε = 0.1, 7 PGD steps of \
            2.5·ε/7, 30 epochs of batch 128, SGD learning rate 0.1 with cosine decay, momentum 0.9, weight \
            decay 5e-4, 1000 evaluation images.
            """
    )

    @Option(help: ArgumentHelp("The teacher's name: a-z, 0-9, '.', '_', '-'.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("A data set of the daemon (train split).", valueName: "name"))
    var data = "fashion-mnist"

    @Option(
        help: ArgumentHelp("Train on these classes only, e.g. 0,1,2,3,4 (a 5-way teacher).", valueName: "ids")
    )
    var classes: String?

    @Option(help: ArgumentHelp("Train on one half of the split: first or second.", valueName: "half"))
    var half: String?

    @Option(help: ArgumentHelp("The architecture: resnet20 or small-cnn.", valueName: "arch"))
    var arch = "resnet20"

    @Option(help: ArgumentHelp("ResNet-20's first-stage channels.", valueName: "n"))
    var width: Int = 16

    @Option(help: ArgumentHelp("The threat model's norm: linf or l2.", valueName: "norm"))
    var norm = "linf"

    @Option(name: .customLong("eps"), help: ArgumentHelp("The training budget ε.", valueName: "ε"))
    var epsilon: Float = 0.1

    @Option(help: ArgumentHelp("PGD iterations per training step.", valueName: "n"))
    var steps: Int = 7

    @Option(help: ArgumentHelp("PGD step size (default 2.5·ε/steps).", valueName: "size"))
    var stepSize: Float?

    @Option(
        name: .customLong("trades"),
        help: ArgumentHelp("Train with TRADES (Zhang et al. 2019) at this β instead of PGD-AT, e.g. 6.", valueName: "β")
    )
    var tradesBeta: Float?

    @Option(help: ArgumentHelp("Passes over the training examples.", valueName: "n"))
    var epochs: Int = 30

    @Option(help: ArgumentHelp("Examples per step.", valueName: "n"))
    var batchSize: Int = 128

    @Option(help: ArgumentHelp("The initial learning rate (cosine decay unless --lr-steps).", valueName: "rate"))
    var learningRate: Float = 0.1

    @OptionGroup var decay: DecayOptions

    @Option(help: ArgumentHelp("The seed of every random choice.", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Steps between checkpoints.", valueName: "n"))
    var checkpointEvery: Int = 100

    @Option(help: ArgumentHelp("Test images for the final audit.", valueName: "n"))
    var evalSamples: Int = 1000

    @Flag(help: "Submit the job, print its id and return without waiting.")
    var detach = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard ["resnet20", "small-cnn"].contains(arch) else {
            throw ValidationError("--arch must be resnet20 or small-cnn, not '\(arch)'")
        }
        guard ["linf", "l2"].contains(norm) else { throw ValidationError("--norm must be linf or l2, not '\(norm)'") }
        guard epsilon > 0, epsilon.isFinite else { throw ValidationError("--eps must be a budget > 0") }
        if let half, !["first", "second"].contains(half) {
            throw ValidationError("--half must be first or second, not '\(half)'")
        }
        _ = try classList()
        for (flag, value) in [
            ("--width", width), ("--steps", steps), ("--epochs", epochs), ("--batch-size", batchSize),
            ("--checkpoint-every", checkpointEvery), ("--eval-samples", evalSamples),
        ] where value < 1 {
            throw ValidationError("\(flag) must be at least 1, not \(value)")
        }
        guard learningRate > 0 else { throw ValidationError("--learning-rate must be > 0") }
        if let stepSize, !(stepSize > 0) { throw ValidationError("--step-size must be > 0") }
        if let tradesBeta, !(tradesBeta > 0) { throw ValidationError("--trades takes β > 0, e.g. 6") }
    }

    func classList() throws -> [UInt32] { try parseClassList(classes, example: "0,1,2,3,4") }

    func run() async throws {
        var spec = Rkd_V1_TeacherTrainingSpec()
        spec.name = name
        spec.architecture = arch == "small-cnn" ? .smallCnn : .resnet20
        spec.width = UInt32(width)
        spec.data = .with {
            $0.name = data
            $0.split = .train
            $0.classes = (try? classList()) ?? []
            if let half { $0.half = half == "first" ? .first : .second }
        }
        spec.adversarial = .with {
            $0.norm = norm == "l2" ? .l2 : .linf
            $0.epsilon = epsilon
            $0.steps = UInt32(steps)
            if let stepSize { $0.stepSize = stepSize }
            if let tradesBeta { $0.tradesBeta = tradesBeta }
        }
        spec.schedule = .with {
            $0.epochs = UInt32(epochs)
            $0.batchSize = UInt32(batchSize)
            $0.learningRate = learningRate
            $0.seed = seed
            $0.checkpointEvery = UInt32(checkpointEvery)
            decay.apply(to: &$0)
        }
        spec.evalExamples = UInt32(evalSamples)
        let daemon = try await global.daemon()
        let job = try await daemon.run { client in
            try await client.submitTeacherTraining(.with { $0.spec = spec })
        }
        if !json {
            printLine(
                "training teacher '\(name)': \(arch)\(arch == "resnet20" ? " width \(width)" : "") on \(data)"
                    + (classes.map { " classes \($0)" } ?? "") + (half.map { " (\($0) half)" } ?? "")
                    + ", \(tradesBeta.map { "TRADES β \($0)" } ?? "PGD-AT") \(norm == "l2" ? "L2" : "L∞") ε \(epsilon), \(steps) steps, \(epochs) epochs, "
                    + "seed \(seed) (job \(job.id))"
            )
        }
        if detach {
            if json { try JSONOutput.print(["job_id": job.id]) } else { printLine("job \(job.id) queued") }
            return
        }
        try await JobFollower.follow(job.id, daemon: daemon, silent: json)
        if json {
            try JSONOutput.print(["job_id": job.id, "teacher": name])
        } else {
            printLine("teacher '\(name)' stored; `rkdctl teacher show \(name)` prints its manifest")
        }
    }
}

/// The class ids of a `--classes` value ("0,1,2"); none when the flag is absent.
func parseClassList(_ text: String?, example: String) throws -> [UInt32] {
    guard let text else { return [] }
    guard let values = parseNumberList(text) else {
        throw ValidationError("--classes takes class ids separated by commas, e.g. \(example)")
    }
    return values
}

/// The numbers of a comma-separated list ("0, 1,2"); nil when it is empty or an entry is not a
/// non-negative integer.
func parseNumberList(_ text: String) -> [UInt32]? {
    let values = text.split(separator: ",").map { UInt32($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { return nil }
    return values.compactMap { $0 }
}
