import Attacks
import Audit
import Datasets
import Distillation
import Foundation
import Jobs
import NN
import ONNXInterop
import TensorEngine
import Training

/// Runs hardening jobs: audits the uploaded model, trains its weights on clean data (Robust-KD against a
/// stored teacher, Shafahi et al.'s baseline, plain fine-tuning) or adversarially (PGD-AT), exports the
/// user's own graph with only the trained initializers replaced (the adapters are dropped), audits the
/// result with the same attacks on the same examples, and writes a report comparing the two.
///
/// Every phase resumes after an interruption: the audits from their per-batch checkpoints, the
/// training from its checkpoints (every `checkpointEvery` steps and at a stop) to the same weights.
public struct HardenExecutor: JobExecutor {
    static let trainingCheckpoint = "training"

    public init() {}

    public func run(_ context: JobExecutionContext) async throws {
        guard case .harden(let spec) = context.job.spec else {
            throw JobExecutionFailure(code: "wrong-kind", message: "this executor runs hardening jobs only")
        }
        guard let modelURL = context.modelURL else {
            throw JobExecutionFailure(code: "model-missing", message: "the job's model is not stored; upload it again")
        }
        let modelBytes = try Data(contentsOf: modelURL)
        let digest = context.job.modelDigest ?? ""

        // The examples and the student.
        var train = try Self.trainingData(spec, datasets: context.datasets)
        let studentGraph: ImportedGraph
        let student: GraphClassifier
        do {
            studentGraph = try ImportedGraph(try ONNXModel.limited(modelBytes, limits: context.importLimits))
            student = try GraphClassifier(
                studentGraph,
                exampleShape: train.exampleShape,
                preprocessing: spec.preprocessing.mean.isEmpty ? nil : (spec.preprocessing.mean, spec.preprocessing.std)
            )
        } catch {
            throw JobExecutionFailure(
                code: "model-unsupported",
                message:
                    "rkd cannot train this model on \(spec.data.name) examples of shape \(train.exampleShape): \(error)"
            )
        }
        guard !student.parameters.isEmpty else {
            throw JobExecutionFailure(
                code: "model-not-trainable",
                message: "the model has no trainable float weights (Conv, Gemm, MatMul or batch-norm initializers); "
                    + "rkd can only harden models whose weights are initializers"
            )
        }
        // A k-way model hardened on k selected classes numbers them 0..<k in the order given.
        train = train.numbered(forSelection: spec.data.classes, outputs: student.classCount)
        if let bad = train.labels.first(where: { $0 >= student.classCount }) {
            throw JobExecutionFailure(
                code: "model-does-not-fit-data",
                message: "\(spec.data.name) has label \(bad) but the model has \(student.classCount) outputs; select "
                    + "classes it knows (--classes) or harden it on its own data set"
            )
        }
        try Self.checkDifferentiable(student, train: train)

        // The teacher.
        let teacher = try Self.teacher(spec, exampleShape: train.exampleShape, context: context)
        if spec.initialization == .teacher {
            guard let teacher else {
                throw JobExecutionFailure(code: "teacher-missing", message: "starting from the teacher needs a teacher")
            }
            try Self.copyWeights(from: teacher.classifier, to: student)
        }

        // Audit before.
        var before: AuditReport?
        if let audit = spec.audit {
            before = try await AuditExecutor.audit(
                modelURL: modelURL,
                digest: digest,
                spec: audit,
                context: context,
                checkpointName: "audit-before",
                reportPrefix: "report-before",
                modelName: "\(modelURL.lastPathComponent) (before)"
            )
        }

        // Train.
        let trained = try await Self.train(student, teacher: teacher, spec: spec, data: train, context: context)

        // Export the user's graph with the trained initializers.
        var metadata = [
            "rkd.method": spec.method.rawValue,
            "rkd.seed": "\(spec.schedule.seed)", "rkd.epochs": "\(spec.schedule.epochs)",
            "rkd.source_sha256": digest,
        ]
        if let name = spec.teacher, let teacher {
            metadata["rkd.teacher"] = name
            metadata["rkd.teacher_sha256"] = teacher.entry.manifest.sha256
        }
        if spec.method == .robustKD {
            metadata["rkd.robust_kd"] =
                "alpha=\(spec.alpha) beta=\(spec.beta) projections=\(spec.projections) "
                + "distance=\(spec.featureDistance.rawValue) jacobian=\(spec.jacobian.rawValue)"
                + (spec.jacobian == .finiteDifference ? " h=\(spec.finiteDifferenceStep)" : "")
                + (spec.projectionScope == .perLayer ? "" : " projection=\(spec.projectionScope.rawValue)")
                + " layers=\(trained.pairs.map { "\($0.teacherTap)=\($0.studentTap)" }.joined(separator: ","))"
        }
        let hardened = try studentGraph.exportedModel(metadata: metadata)
        try await context.writeArtifact(name: "hardened.onnx", mediaType: "application/onnx", hardened)
        let stored = try context.artifacts.storeModel(hardened)

        // Audit after: the exported file, as the user gets it, with the same attacks and examples.
        var after: AuditReport?
        if let audit = spec.audit {
            after = try await AuditExecutor.audit(
                modelURL: context.artifacts.modelURL(digest: stored.digest),
                digest: stored.digest.hex,
                spec: audit,
                context: context,
                checkpointName: "audit-after",
                reportPrefix: "report-after",
                modelName: "\(modelURL.lastPathComponent) (hardened)"
            )
        }
        let comparison = HardenComparison(
            spec: spec,
            sourceDigest: digest,
            hardenedDigest: stored.digest.hex,
            training: trained.summary,
            before: before,
            after: after
        )
        try await comparison.write(context)
        await context.log(.info, comparison.summaryLine)
    }

    // MARK: - Parts

    /// The training examples the spec selects.
    static func trainingData(_ spec: HardenSpec, datasets: DatasetCatalog) throws -> Dataset {
        do {
            return try datasets.load(
                spec.data.name,
                split: spec.data.split == .train ? .train : .test,
                classes: spec.data.classes,
                half: spec.data.half.map { $0 == .first ? .first : .second }
            )
        } catch {
            throw JobExecutionFailure(code: "data-unavailable", message: error.description)
        }
    }

    /// Refuses a model whose logits do not depend differentiably on its weights and inputs (an argmax
    /// or integer cast before the output, say): one batch's weight gradient must be finite and not
    /// all zero.
    static func checkDifferentiable(_ student: GraphClassifier, train: Dataset) throws {
        let batch = train.prefix(8)
        let x = Tensor(shape: batch.shape, scalars: batch.images)
        let loss = crossEntropy(
            logits: student.logits(x, context: ForwardContext(isTraining: false)),
            labels: batch.labels
        )
        if let error = student.lastError {
            throw JobExecutionFailure(code: "model-unsupported", message: "the model does not run: \(error)")
        }
        let gradients = gradient(of: loss, wrt: student.parameters.map(\.value))
        let values = gradients.flatMap(\.scalars)
        guard values.allSatisfy(\.isFinite), values.contains(where: { $0 != 0 }) else {
            throw JobExecutionFailure(
                code: "model-not-differentiable",
                message: "the model's output does not depend differentiably on its weights (every weight gradient is "
                    + "zero or not finite): it may end in an argmax, a cast or a hard threshold. Export the model up "
                    + "to its logits"
            )
        }
    }

    /// A loaded teacher.
    struct LoadedTeacher {
        var entry: TeacherStore.Entry
        var classifier: GraphClassifier
    }

    /// The spec's teacher, loaded and checked against the examples; nil when the method needs none.
    static func teacher(_ spec: HardenSpec, exampleShape: [Int], context: JobExecutionContext) throws -> LoadedTeacher?
    {
        let needed = spec.method == .robustKD || spec.method == .shafahi || spec.initialization == .teacher
        guard needed, let name = spec.teacher else { return nil }
        let entry: TeacherStore.Entry
        let bytes: Data
        do {
            (entry, bytes) = try context.teachers.model(name)
        } catch {
            throw JobExecutionFailure(code: "teacher-unavailable", message: error.message)
        }
        guard entry.manifest.inputShape == exampleShape else {
            throw JobExecutionFailure(
                code: "teacher-does-not-fit",
                message:
                    "teacher '\(name)' takes \(entry.manifest.inputShape) inputs but the examples are \(exampleShape)"
            )
        }
        do {
            let graph = try ImportedGraph(try ONNXModel.limited(bytes, limits: context.importLimits))
            return LoadedTeacher(entry: entry, classifier: try GraphClassifier(graph, exampleShape: exampleShape))
        } catch {
            throw JobExecutionFailure(code: "teacher-unsupported", message: "teacher '\(name)' cannot run: \(error)")
        }
    }

    /// Whether the teacher's classes are the training data's, one for one (then its logits are a
    /// target, as in Shafahi et al.'s same-task setting): the same count and the same names in order.
    /// A 5-way teacher of classes 0–4 and a 5-way student of classes 5–9 do not match.
    static func classesMatch(_ teacher: LoadedTeacher, _ data: Dataset) -> Bool {
        teacher.classifier.classCount == data.classNames.count && teacher.entry.manifest.classNames == data.classNames
    }

    /// Copies the teacher's weights into the student, parameter by parameter in order.
    static func copyWeights(from teacher: GraphClassifier, to student: GraphClassifier) throws {
        let (t, s) = (teacher.parameters + [], student.parameters)
        let tb = teacher.buffers
        let sb = student.buffers
        guard t.map(\.shape) == s.map(\.shape), tb.map(\.shape) == sb.map(\.shape) else {
            throw JobExecutionFailure(
                code: "architectures-differ",
                message: "--init teacher needs the teacher's architecture: the model's \(s.count) weights do not match "
                    + "the teacher's \(t.count) in order and shape; start from the model's own weights instead"
            )
        }
        for (target, source) in zip(s, t) { target.value = source.value.detached }
        for (target, source) in zip(sb, tb) { target.value = source.value.detached }
    }

    /// Advice for a model paired with its teacher through adapters (another architecture) at the
    /// default α and β, which moved such a model little in experiment 3 (docs/EXPERIMENTS.md); nil
    /// otherwise.
    static func adapterHint(_ spec: HardenSpec, _ pairs: [FeaturePair]) -> String? {
        let adapted = pairs.contains {
            $0.adapter.projection != nil || $0.adapter.studentShape != $0.adapter.teacherShape
        }
        let paper = RobustKDSettings()
        guard adapted, spec.alpha == paper.alpha, spec.beta == paper.beta, spec.featureDistance == .cosine else {
            return nil
        }
        return "the model's feature maps differ from the teacher's and are paired through adapters; at the "
            + "default α 50 and β 5e-3 such a model gained little robustness in docs/EXPERIMENTS.md "
            + "(experiment 3: the sample small CNN's AutoAttack accuracy 5.4 → 4.8 %, with β 0.5 10.8 %, with β 5 "
            + "15.6 %): for more, harden again with a larger --beta (0.5 or more), and --alpha 0 to keep clean accuracy"
    }

    /// What training did.
    struct Trained {
        var pairs: [FeaturePair]
        var summary: HardenComparison.Training
    }

    /// Trains the student as the spec's method says, resumable from the "training" checkpoint.
    static func train(
        _ student: GraphClassifier,
        teacher: LoadedTeacher?,
        spec: HardenSpec,
        data: Dataset,
        context: JobExecutionContext
    ) async throws -> Trained {
        let schedule = spec.schedule
        var pairs: [FeaturePair] = []
        var customStep: ((inout SGD, Trainer.Batch) throws -> Float)?
        // Checked before every step and between the passes of a step (a Robust-KD step takes seconds).
        let checkStop: () throws -> Void = {
            if let error = student.lastError {
                throw JobExecutionFailure(code: "model-failed", message: "the model failed during training: \(error)")
            }
            try context.checkStop()
        }
        var terms = TermSums()
        // The loss terms of a step whose loss was not finite, for the divergence error.
        var lastTerms: String?
        let termLock = NSLock()
        switch spec.method {
        case .robustKD:
            guard let teacher else {
                throw JobExecutionFailure(code: "teacher-missing", message: "Robust-KD needs a teacher")
            }
            pairs = try Self.pairs(spec, teacher: teacher.classifier, student: student)
            if let hint = Self.adapterHint(spec, pairs) { await context.log(.warning, hint) }
            var settings = RobustKDSettings()
            settings.alpha = spec.alpha
            settings.beta = spec.beta
            settings.projections = spec.projections
            settings.distance = spec.featureDistance == .cosine ? .cosine : .l2
            settings.jacobian =
                spec.jacobian == .exact ? .exact : .finiteDifference(step: spec.finiteDifferenceStep)
            settings.projectionScope = spec.projectionScope == .joint ? .joint : .perLayer
            settings.useFeatures = spec.alpha > 0
            settings.useJacobian = spec.beta > 0
            let kd = RobustKD(teacher: teacher.classifier, student: student, pairs: pairs, settings: settings)
            customStep = { optimizer, batch in
                var random = RandomGenerator(seed: batch.seed)
                let loss = try kd.step(
                    optimizer: &optimizer,
                    inputs: batch.inputs,
                    labels: batch.labels,
                    random: &random,
                    checkStop: checkStop
                )
                termLock.withLock {
                    terms.add(ce: loss.crossEntropy, feature: loss.feature, jacobian: loss.jacobian)
                    if !loss.total.isFinite {
                        lastTerms =
                            "cross-entropy \(loss.crossEntropy), feature \(loss.feature), Jacobian \(loss.jacobian)"
                    }
                }
                return loss.total
            }
        case .shafahi:
            guard let teacher else {
                throw JobExecutionFailure(code: "teacher-missing", message: "Shafahi needs a teacher")
            }
            let t = LayerPairing.stages(LayerPairing.maps(of: teacher.classifier)).last
            let s = LayerPairing.maps(of: student).last
            guard let t, let s else {
                throw JobExecutionFailure(
                    code: "no-feature-maps",
                    message: "the teacher or the model has no 4-D feature map to distil at"
                )
            }
            let shafahi = ShafahiDistillation(
                teacher: teacher.classifier,
                student: student,
                teacherTap: t.name,
                studentTap: s.name,
                teacherChannels: t.shape[0],
                studentChannels: s.shape[0],
                lambda: spec.alpha,
                logitWeight: Self.classesMatch(teacher, data) ? 1 : 0,
                seed: schedule.seed
            )
            pairs = [shafahi.pair]
            customStep = { optimizer, batch in
                let (ce, feature) = shafahi.step(optimizer: &optimizer, inputs: batch.inputs, labels: batch.labels)
                termLock.withLock { terms.add(ce: ce, feature: feature, jacobian: 0) }
                return ce + spec.alpha * feature
            }
        case .finetune, .adversarialTraining:
            break
        }
        if let error = student.lastError {
            throw JobExecutionFailure(code: "model-unsupported", message: "the model does not run: \(error)")
        }
        let model = DistillationStudent(student, adapters: pairs.map(\.adapter))
        var trainer = Trainer(
            inputs: data.images,
            labels: data.labels,
            exampleShape: data.exampleShape,
            epochs: schedule.epochs,
            batchSize: schedule.batchSize,
            learningRate: schedule.learningRate,
            seed: schedule.seed
        )
        trainer.momentum = schedule.momentum
        trainer.weightDecay = schedule.weightDecay
        trainer.checkpointEvery = schedule.checkpointEvery
        trainer.decay = schedule.trainerDecay
        trainer.customStep = customStep
        if spec.method == .adversarialTraining, let threat = spec.adversarial {
            trainer.adversarial = AdversarialTraining(
                threat.norm == .linf ? .linf : .l2,
                epsilon: threat.epsilon,
                steps: threat.steps,
                stepSize: threat.stepSize
            )
            if let beta = threat.tradesBeta {
                trainer.trades = TRADES(
                    threat.norm == .linf ? .linf : .l2,
                    epsilon: threat.epsilon,
                    steps: threat.steps,
                    stepSize: threat.stepSize,
                    beta: beta
                )
            }
        }

        var resumeFrom: Checkpoint?
        var seconds = 0.0
        if let bytes = try context.loadCheckpoint(name: trainingCheckpoint) {
            do {
                let checkpoint = try Checkpoint(decoding: bytes)
                resumeFrom = checkpoint
                seconds = Double(checkpoint.metadata["harden.seconds"] ?? "") ?? 0
                await context.log(.info, "resuming training from step \(checkpoint.step) of \(trainer.totalSteps)")
            } catch {
                await context.log(.warning, "the training checkpoint is unreadable (\(error)); starting over")
            }
        } else {
            await context.log(
                .info,
                "training \(spec.method.rawValue) on \(data.count) \(spec.data.name) examples, \(schedule.epochs) epochs "
                    + "of \(trainer.stepsPerEpoch) steps, learning rate \(schedule.learningRate) \(schedule.decayDescription), "
                    + "seed \(schedule.seed)"
                    + (pairs.isEmpty
                        ? "" : "; layers " + pairs.map { "\($0.teacherTap)=\($0.studentTap)" }.joined(separator: ", "))
            )
        }
        let start = ContinuousClock.now
        let secondsBefore = seconds
        let total = schedule.epochs * data.count
        let phase = "training (\(spec.method.rawValue)), \(schedule.epochs) epochs"
        let validation = Self.validation(spec, datasets: context.datasets, outputs: student.classCount, count: 500)
        try await trainer.run(
            model: model,
            from: resumeFrom,
            save: { checkpoint in
                if context.stopReason == .cancelled { return }  // its checkpoints are deleted anyway
                var checkpoint = checkpoint
                checkpoint.metadata["harden.seconds"] = "\(secondsBefore + (ContinuousClock.now - start).seconds)"
                try context.saveCheckpoint(try checkpoint.encoded(), name: trainingCheckpoint)
            },
            shouldStop: checkStop,
            onStep: { report in
                guard report.loss.isFinite else {
                    throw JobExecutionFailure.trainingDiverged(
                        report,
                        terms: termLock.withLock { lastTerms },
                        hint: spec.method == .robustKD && spec.featureDistance == .l2
                            ? "the learning rate (--learning-rate) or the loss weights (--alpha, --beta; the L2 "
                                + "distance sums over whole maps and needs α around 1e-3)"
                            : spec.method == .robustKD || spec.method == .shafahi
                                ? "the learning rate (--learning-rate) or the loss weights (--alpha, --beta)"
                                : "the learning rate (--learning-rate)"
                    )
                }
                let within = report.step - report.epoch * trainer.stepsPerEpoch
                try await context.reportProgress(
                    phase: phase,
                    done: min(report.epoch * data.count + within * schedule.batchSize, (report.epoch + 1) * data.count),
                    total: total,
                    unit: "images"
                )
            },
            onEpoch: { epoch, loss in
                let parts = termLock.withLock { () -> String in
                    defer { terms = TermSums() }
                    return terms.description
                }
                var line = "epoch \(epoch + 1)/\(schedule.epochs): loss \(String(format: "%.4f", loss))\(parts)"
                if let validation {
                    let accuracy = student.accuracy(validation.inputs, labels: validation.labels)
                    line += ", clean validation accuracy \(String(format: "%.1f", 100 * accuracy)) %"
                }
                await context.log(.info, line)
            }
        )
        seconds = secondsBefore + (ContinuousClock.now - start).seconds
        if let error = student.lastError {
            throw JobExecutionFailure(code: "model-failed", message: "the model failed during training: \(error)")
        }
        return Trained(
            pairs: pairs,
            summary: .init(
                method: spec.method.rawValue,
                epochs: schedule.epochs,
                steps: trainer.totalSteps,
                examples: data.count,
                seconds: seconds,
                layers: pairs.map { "\($0.teacherTap)=\($0.studentTap)" }
            )
        )
    }

    /// The pairs the spec names, else automatic pairing by resolution.
    static func pairs(_ spec: HardenSpec, teacher: GraphClassifier, student: GraphClassifier) throws -> [FeaturePair] {
        let teacherMaps = teacher.featureShapes.map { LayerPairing.Map(name: $0.name, shape: $0.shape) }
        let studentMaps = student.featureShapes.map { LayerPairing.Map(name: $0.name, shape: $0.shape) }
        do {
            let pairs =
                spec.layers.isEmpty
                ? try LayerPairing.automatic(teacher: teacherMaps, student: studentMaps)
                : try LayerPairing.explicit(
                    spec.layers.map { ($0.teacher, $0.student) },
                    teacher: teacherMaps,
                    student: studentMaps
                )
            return LayerPairing.featurePairs(pairs, seed: spec.schedule.seed)
        } catch let error as LayerPairing.PairingError {
            throw JobExecutionFailure(code: "layers-do-not-pair", message: error.description)
        }
    }

    /// The first `count` test examples of the training data's classes, for the per-epoch accuracy.
    static func validation(
        _ spec: HardenSpec,
        datasets: DatasetCatalog,
        outputs: Int,
        count: Int
    ) -> (inputs: Tensor, labels: [Int])? {
        guard let test = try? datasets.load(spec.data.name, split: .test, classes: spec.data.classes) else {
            return nil
        }
        let part = test.numbered(forSelection: spec.data.classes, outputs: outputs).prefix(count)
        return (Tensor(shape: part.shape, scalars: part.images), part.labels)
    }
}

/// Per-epoch sums of the loss terms, for the log.
struct TermSums: CustomStringConvertible {
    var ce: Double = 0
    var feature: Double = 0
    var jacobian: Double = 0
    var steps = 0

    mutating func add(ce: Float, feature: Float, jacobian: Float) {
        self.ce += Double(ce)
        self.feature += Double(feature)
        self.jacobian += Double(jacobian)
        steps += 1
    }

    var description: String {
        guard steps > 0 else { return "" }
        let n = Double(steps)
        return String(format: " (CE %.4f, feature %.4f, Jacobian %.4g)", ce / n, feature / n, jacobian / n)
    }
}
