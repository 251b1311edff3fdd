import Attacks
import Audit
import Datasets
import Foundation
import Jobs
import NN
import ONNXInterop
import TensorEngine
import Training

/// Runs teacher-training jobs: PGD adversarial training (Madry et al.), or TRADES when the spec sets its
/// β, of a ResNet-20 or small CNN on a catalogue data set, then an audit of the result at the training threat model (PGD-20 and the
/// AutoAttack standard on the first `evalExamples` test images), then the teacher's ONNX file and
/// manifest into the teacher store.
///
/// The job resumes after any interruption: the training checkpoint (weights, optimizer, step, the
/// epoch's running loss, the history so far) is saved every `checkpointEvery` steps and when the job is
/// stopped, and the evaluation saves the audit's state after every batch; a resumed job ends with the
/// weights and figures an uninterrupted one would have.
public struct TeacherTrainingExecutor: JobExecutor {
    /// Test examples whose clean accuracy is logged after every epoch.
    static let validationExamples = 1000
    static let trainingCheckpoint = "training"
    static let evaluationCheckpoint = "evaluation"

    public init() {}

    public func run(_ context: JobExecutionContext) async throws {
        guard case .teacherTraining(let spec) = context.job.spec else {
            throw JobExecutionFailure(code: "wrong-kind", message: "this executor runs teacher-training jobs only")
        }
        let data = try Self.load(spec, datasets: context.datasets)
        let model = try Self.model(spec, exampleShape: data.train.exampleShape, classes: data.classNames.count)
        let schedule = spec.schedule
        let threat = spec.adversarial
        let norm: PerturbationNorm = threat.norm == .linf ? .linf : .l2
        let training = AdversarialTraining(
            norm,
            epsilon: threat.epsilon,
            steps: threat.steps,
            stepSize: threat.stepSize
        )
        var trainer = Trainer(
            inputs: data.train.images,
            labels: data.train.labels,
            exampleShape: data.train.exampleShape,
            epochs: schedule.epochs,
            batchSize: schedule.batchSize,
            learningRate: schedule.learningRate,
            seed: schedule.seed,
            adversarial: training
        )
        if let beta = threat.tradesBeta {
            trainer.trades = TRADES(
                norm,
                epsilon: threat.epsilon,
                steps: threat.steps,
                stepSize: threat.stepSize,
                beta: beta
            )
        }
        trainer.momentum = schedule.momentum
        trainer.weightDecay = schedule.weightDecay
        trainer.checkpointEvery = schedule.checkpointEvery
        trainer.decay = schedule.trainerDecay

        // Resume.
        var history = TrainingHistory()
        var resumeFrom: Checkpoint?
        if let bytes = try context.loadCheckpoint(name: Self.trainingCheckpoint) {
            do {
                let checkpoint = try Checkpoint(decoding: bytes)
                history = TrainingHistory(checkpoint.metadata)
                resumeFrom = checkpoint
                await context.log(
                    .info,
                    checkpoint.step >= trainer.totalSteps
                        ? "training was finished before the restart (\(checkpoint.step) steps); resuming the evaluation"
                        : "resuming from a checkpoint at step \(checkpoint.step) of \(trainer.totalSteps) "
                            + "(epoch \(checkpoint.step / trainer.stepsPerEpoch + 1) of \(schedule.epochs))"
                )
            } catch {
                await context.log(.warning, "the training checkpoint is unreadable (\(error)); starting over")
            }
        } else {
            await context.log(
                .info,
                "training \(Self.architectureName(spec)) on \(data.train.count) \(spec.data.name) examples: "
                    + "\(threat.recipeName) \(threat.norm.rawValue) ε=\(threat.epsilon), \(threat.steps) steps of "
                    + "\(training.attack.stepSize); \(schedule.epochs) epochs of \(trainer.stepsPerEpoch) steps, "
                    + "batch \(schedule.batchSize), learning rate \(schedule.learningRate) \(schedule.decayDescription), "
                    + "seed \(schedule.seed)"
            )
        }

        // Train.
        let validation = data.test.prefix(Self.validationExamples)
        let validationInputs = Tensor(shape: validation.shape, scalars: validation.images)
        let attemptStart = ContinuousClock.now
        let secondsBefore = history.seconds
        let examplesPerEpoch = data.train.count
        let totalImages = schedule.epochs * examplesPerEpoch
        func metadata() -> [String: String] {
            var current = history
            current.seconds = secondsBefore + (ContinuousClock.now - attemptStart).seconds
            return current.metadata
        }
        try await trainer.run(
            model: model,
            from: resumeFrom,
            save: { checkpoint in
                // A cancelled job's checkpoints are deleted: do not spend the cancellation's second
                // writing one.
                if context.stopReason == .cancelled { return }
                var checkpoint = checkpoint
                checkpoint.metadata.merge(metadata()) { _, new in new }
                try context.saveCheckpoint(try checkpoint.encoded(), name: Self.trainingCheckpoint)
            },
            shouldStop: { try context.checkStop() },
            onStep: { report in
                guard report.loss.isFinite else {
                    throw JobExecutionFailure.trainingDiverged(report, hint: "the learning rate (--learning-rate)")
                }
                let imagesDone = min(
                    report.epoch * examplesPerEpoch + (report.step - report.epoch * trainer.stepsPerEpoch)
                        * schedule.batchSize,
                    (report.epoch + 1) * examplesPerEpoch
                )
                try await context.reportProgress(
                    phase: "adversarial training, \(schedule.epochs) epochs",
                    done: imagesDone,
                    total: totalImages,
                    unit: "images"
                )
            },
            onEpoch: { epoch, loss in
                let accuracy = model.accuracy(validationInputs, labels: validation.labels)
                history.validationAccuracy.append(accuracy)
                history.losses.append(Double(loss))
                let elapsed = secondsBefore + (ContinuousClock.now - attemptStart).seconds
                await context.log(
                    .info,
                    "epoch \(epoch + 1)/\(schedule.epochs): adversarial loss \(String(format: "%.4f", loss)), "
                        + "clean validation accuracy \(String(format: "%.1f", 100 * accuracy)) % "
                        + "(\(validation.count) test images), \(Int(elapsed)) s so far"
                )
            }
        )
        history.seconds = secondsBefore + (ContinuousClock.now - attemptStart).seconds
        if resumeFrom.map({ $0.step < trainer.totalSteps }) ?? true {
            // The end of training is a checkpoint too: the evaluation's resumption starts from it.
            try context.saveCheckpoint(
                try Checkpoint(model: model, step: trainer.totalSteps, metadata: history.metadata).encoded(),
                name: Self.trainingCheckpoint
            )
            await context.log(.info, "training done in \(Int(history.seconds)) s; evaluating")
        }

        // Evaluate with the audit.
        let report = try await Self.evaluate(model, spec: spec, data: data, context: context)
        let pgd = report.attacks.first { $0.name.hasPrefix("pgd") }?.robustAccuracy
        let autoAttack = report.attacks.first { $0.name.hasPrefix("autoattack") }?.robustAccuracy

        // Export and store.
        let onnx = try NNExport.exportedModel(
            model,
            metadata: [
                "rkd.seed": "\(schedule.seed)",
                "rkd.threat": "\(threat.norm.rawValue) \(threat.epsilon)",
            ]
        )
        let manifest = TeacherManifest(
            name: spec.name,
            dataset: spec.data.name,
            datasetClasses: spec.data.classes.isEmpty ? nil : spec.data.classes,
            inputShape: data.train.exampleShape,
            classNames: data.classNames,
            norm: threat.norm,
            epsilon: threat.epsilon,
            architecture: Self.architectureName(spec),
            recipe:
                "rkdd teacher-training job \(context.job.id): \(threat.recipeName) \(threat.norm.rawValue) ε=\(threat.epsilon), "
                + "\(threat.steps) steps of \(training.attack.stepSize) from a random start, \(schedule.epochs) "
                + "epochs, batch \(schedule.batchSize), SGD lr \(schedule.learningRate) \(schedule.decayDescription), momentum "
                + "\(schedule.momentum), weight decay \(schedule.weightDecay), seed \(schedule.seed)",
            seed: schedule.seed,
            training: .init(
                method: threat.tradesBeta == nil ? "pgd-at" : "trades",
                steps: threat.steps,
                stepSize: training.attack.stepSize,
                tradesBeta: threat.tradesBeta,
                epochs: schedule.epochs,
                batchSize: schedule.batchSize,
                learningRate: schedule.learningRate,
                learningRateDecay: schedule.decayDescription,
                momentum: schedule.momentum,
                weightDecay: schedule.weightDecay,
                examples: data.train.count,
                seconds: history.seconds,
                validationAccuracy: history.validationAccuracy
            ),
            evaluation: .init(
                examples: report.data.count,
                clean: report.cleanAccuracy,
                pgd20: pgd,
                autoAttack: autoAttack,
                seed: spec.schedule.seed,
                reportJobID: context.job.id
            ),
            sha256: SHA256.hash(onnx).hex,
            rkdVersion: DaemonContext.version,
            source: .trained,
            jobID: context.job.id,
            createdAt: Date()
        )
        try await context.writeArtifact(name: TeacherStore.modelFile, mediaType: "application/onnx", onnx)
        try await context.writeArtifact(
            name: TeacherStore.manifestFile,
            mediaType: "application/json",
            try manifest.encoded()
        )
        let installed = Result { () throws(ArtifactStoreError) in
            try context.teachers.install(name: spec.name, model: onnx, manifest: manifest)
        }
        if case .failure(let error) = installed {
            guard error.code == .alreadyExists else { throw error }
            throw JobExecutionFailure(
                code: "teacher-exists",
                message: "a teacher named '\(spec.name)' was stored while this job ran; the trained teacher is "
                    + "kept as this job's teacher.onnx and manifest.json: download them and import under "
                    + "another name (rkdctl teacher import)"
            )
        }
        func percent(_ value: Double?) -> String { value.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }
        await context.log(
            .info,
            "teacher '\(spec.name)' stored: clean \(percent(report.cleanAccuracy)), PGD-20 \(percent(pgd)), "
                + "AutoAttack \(percent(autoAttack)) on \(report.data.count) test images; trained in "
                + "\(Int(history.seconds)) s"
        )
    }

    // MARK: - Parts

    /// The training examples (labels renumbered to the selected classes' positions), the test examples
    /// of the same classes, and the class names.
    struct TeacherData {
        var train: Dataset
        var test: Dataset
        var classNames: [String]
    }

    static func load(_ spec: TeacherTrainingSpec, datasets: DatasetCatalog) throws -> TeacherData {
        do {
            let half = spec.data.half.map { $0 == .first ? Dataset.Half.first : .second }
            var train = try datasets.load(
                spec.data.name,
                split: spec.data.split == .train ? .train : .test,
                classes: spec.data.classes,
                half: half
            )
            var test = try datasets.load(spec.data.name, split: .test, classes: spec.data.classes)
            // The teacher has one output per selected class: they are numbered 0..<k in the order given.
            let outputs = spec.data.classes.isEmpty ? train.classNames.count : spec.data.classes.count
            train = train.numbered(forSelection: spec.data.classes, outputs: outputs)
            test = test.numbered(forSelection: spec.data.classes, outputs: outputs)
            return TeacherData(train: train, test: test, classNames: train.classNames)
        } catch {
            throw JobExecutionFailure(code: "data-unavailable", message: "\(error)")
        }
    }

    static func architectureName(_ spec: TeacherTrainingSpec) -> String {
        switch spec.architecture {
        case .resnet20: "resnet20-w\(spec.width)"
        case .smallCNN: "small-cnn"
        }
    }

    /// The untrained network for examples of `exampleShape` (C, H, W).
    static func model(_ spec: TeacherTrainingSpec, exampleShape: [Int], classes: Int) throws -> any Classifier {
        let (channels, height, width) = (exampleShape[0], exampleShape[1], exampleShape[2])
        switch spec.architecture {
        case .resnet20:
            guard height == width, height >= 4 else {
                throw JobExecutionFailure(
                    code: "architecture-does-not-fit-data",
                    message: "ResNet-20 takes square images of at least 4×4; \(spec.data.name) has \(height)×\(width)"
                )
            }
            return ResNet20(
                inputChannels: channels,
                imageSize: height,
                classes: classes,
                width: spec.width,
                seed: spec.schedule.seed
            )
        case .smallCNN:
            guard height % 4 == 0, width % 4 == 0 else {
                throw JobExecutionFailure(
                    code: "architecture-does-not-fit-data",
                    message: "the small CNN pools twice by 2 and needs sides divisible by 4; \(spec.data.name) has "
                        + "\(height)×\(width)"
                )
            }
            return SmallCNN(
                inputChannels: channels,
                height: height,
                width: width,
                classes: classes,
                seed: spec.schedule.seed
            )
        }
    }

    /// Audits the trained teacher at its threat model: PGD-20 and AutoAttack standard on the first
    /// `evalExamples` test examples, resumable batch by batch; writes report.json/.md/.html.
    static func evaluate<Model: Classifier>(
        _ model: Model,
        spec: TeacherTrainingSpec,
        data: TeacherData,
        context: JobExecutionContext
    ) async throws -> AuditReport {
        let test = data.test.prefix(spec.evalExamples)
        let examples = AuditExamples(
            inputs: test.images,
            labels: test.labels,
            indices: test.sourceIndices,
            exampleShape: test.exampleShape,
            classNames: data.classNames
        )
        // AutoAttack's targeted members need 4 classes; a smaller teacher gets APGD-CE instead.
        let autoAttackClasses = AutoAttack(.linf, epsilon: spec.adversarial.epsilon).minimumClasses
        let strongest =
            data.classNames.count >= autoAttackClasses ? AttackSettings(.autoAttack) : AttackSettings(.apgdCE)
        if strongest.kind != .autoAttack {
            await context.log(
                .warning,
                "AutoAttack needs \(autoAttackClasses) classes and this teacher has \(data.classNames.count): "
                    + "evaluating with PGD-20 and APGD-CE only"
            )
        }
        let auditSpec = AuditSpec(
            attacks: [AttackSettings(.pgd, steps: 20), strongest],
            norm: spec.adversarial.norm,
            epsilons: [spec.adversarial.epsilon],
            data: DatasetSelection(name: spec.data.name, split: .test, classes: spec.data.classes),
            numExamples: test.count,
            batchSize: 128,
            seed: spec.schedule.seed
        )
        let plan = try AuditPlanning.plan(auditSpec)
        var state = AuditState(cells: plan.allCells.count)
        if let saved = try context.loadCheckpoint(name: evaluationCheckpoint),
            let decoded = try? JSONDecoder().decode(AuditState.self, from: saved)
        {
            state = decoded
        }
        var runner = AuditRunner(
            model: StoppableModel(model: ClassifierAttackModel(model)) { try context.checkStop() },
            examples: examples,
            plan: plan
        )
        runner.checkpoint = { try context.saveCheckpoint(try JSONEncoder().encode($0), name: evaluationCheckpoint) }
        runner.progress = { cell, done, total in
            let attack = plan.allCells[cell]
            try await context.reportProgress(
                phase: "evaluating: \(attack.name) ε=\(attack.threat.epsilon) (\(cell + 1)/\(plan.allCells.count))",
                done: done,
                total: total,
                unit: "examples"
            )
        }
        runner.checkStop = { try context.checkStop() }
        let finished = try await runner.run(state: state)
        let report = AuditReport(
            plan: plan,
            examples: examples,
            state: finished,
            context: AuditContext(
                rkdVersion: DaemonContext.version,
                model: .init(digest: "", name: "teacher \(spec.name)", outputKind: "logits"),
                dataName: spec.data.name,
                split: "test",
                classCount: data.classNames.count,
                failUnder: nil,
                probabilityOutputNote: nil
            )
        )
        try await AuditExecutor.write(report, context)
        return report
    }
}

/// What a teacher-training job carries from attempt to attempt in its checkpoint's metadata.
struct TrainingHistory {
    var validationAccuracy: [Double] = []
    var losses: [Double] = []
    var seconds: Double = 0

    init() {}

    init(_ metadata: [String: String]) {
        func list(_ key: String) -> [Double] {
            (metadata[key] ?? "").split(separator: ",").compactMap { Double(String($0)) }
        }
        validationAccuracy = list("history.validation_accuracy")
        losses = list("history.loss")
        seconds = Double(metadata["history.seconds"] ?? "") ?? 0
    }

    var metadata: [String: String] {
        [
            "history.validation_accuracy": validationAccuracy.map { "\($0)" }.joined(separator: ","),
            "history.loss": losses.map { "\($0)" }.joined(separator: ","),
            "history.seconds": "\(seconds)",
        ]
    }
}

extension TrainingSchedule {
    /// The spec's decay as the trainer takes it.
    var trainerDecay: Trainer.Decay {
        switch decay {
        case .cosine: .cosine
        case .step(let milestones, let gamma): .step(milestoneEpochs: milestones, gamma: gamma)
        }
    }
}
