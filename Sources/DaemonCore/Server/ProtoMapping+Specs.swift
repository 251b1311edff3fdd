import DaemonAPI
import GRPCCore
import Jobs
import SwiftProtobuf

/// Between the job specs of the API (`rkd/v1/specs.proto`) and those of `Jobs`. Requests leave fields
/// unset to take a default; `spec(from:)` fills every default in, so the stored spec (which GetJob and
/// ListJobs return in `Job.spec`) says exactly what runs. Ranges are checked afterwards by
/// ``JobSpec/validate()``; here only what cannot be represented is refused (an unknown enum value).
extension ProtoMapping {
    /// The defaults the proto documents as "the daemon's default".
    enum SpecDefaults {
        /// Examples per audit batch.
        static let auditBatchSize = 100
        /// Examples of the short audit a hardening job runs before and after, when the request has none.
        static let hardenAuditExamples = 200
        /// The weight α of the feature term: the paper's 50 for the cosine distance (at most 2 per
        /// layer), 1e-3 for the L2 distance, a sum of squares over a whole map (thousands of values per
        /// example), where α 50 and α 1 diverge (docs/EXPERIMENTS.md, experiment 4). Shafahi's L2 of
        /// pooled features keeps 50.
        static func alpha(method: HardenSpec.Method, distance: HardenSpec.FeatureDistance) -> Float {
            method == .robustKD && distance == .l2 ? 1e-3 : 50
        }
        /// The finite-difference step of the Jacobian term.
        static let finiteDifferenceStep: Float = 1e-2
        /// Test examples for a teacher's manifest.
        static let teacherEvalExamples = 1000
        /// PGD iterations of adversarial training.
        static let adversarialSteps = 7
        /// The data set of a request that names none.
        static let dataset = "fashion-mnist"

        /// A training schedule's defaults for a job kind.
        static func schedule(for kind: JobKind) -> (epochs: Int, learningRate: Float) {
            kind == .teacherTraining ? (30, 0.1) : (10, 0.01)
        }
        static let batchSize = 128
        static let momentum: Float = 0.9
        static let weightDecay: Float = 5e-4
        static let checkpointEvery = 100
        /// A step schedule's factor.
        static let stepGamma: Float = 0.1

        /// A data set's customary budgets for a norm (Fashion-MNIST's are the proto's documented ones).
        static func epsilons(dataset: String, norm: Norm) -> [Float]? {
            switch (dataset, norm) {
            case ("fashion-mnist", .linf): [0.05, 0.1, 0.2]
            case ("fashion-mnist", .l2): [0.5, 1.0, 1.5]
            case ("mnist", .linf): [0.1, 0.2, 0.3]
            case ("mnist", .l2): [1.0, 2.0, 3.0]
            case ("cifar-10", .linf): [2.0 / 255, 4.0 / 255, 8.0 / 255]
            case ("cifar-10", .l2): [0.25, 0.5, 1.0]
            default: nil
            }
        }
    }

    // MARK: - Requests to specs

    /// An audit spec with the defaults filled in; `seed` picks the seed when the request has none.
    static func auditSpec(
        _ message: Rkd_V1_AuditSpec,
        path: String = "spec",
        seed: () -> UInt64 = { UInt64.random(in: 0...UInt64.max) }
    ) throws -> AuditSpec {
        let norm = try norm(message.norm, field: "\(path).norm")
        var attacks: [AttackSettings] = []
        for (index, config) in message.attacks.enumerated() {
            attacks.append(try attack(config, field: "\(path).attacks[\(index)]"))
        }
        if attacks.isEmpty { attacks = [AttackSettings(.autoAttack)] }
        let data = try selection(message.hasData ? message.data : nil, defaultSplit: .test, field: "\(path).data")
        var epsilons = message.epsilons
        if epsilons.isEmpty {
            guard data.uploaded == nil else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "\(path).epsilons is empty; uploaded examples have no customary budgets, give them, "
                        + "e.g. epsilons: [0.1]"
                )
            }
            guard let customary = SpecDefaults.epsilons(dataset: data.name, norm: norm) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "\(path).epsilons is empty and data set '\(data.name)' has no customary budgets "
                        + "for the \(norm.rawValue) norm; give the budgets, e.g. epsilons: [0.1]"
                )
            }
            epsilons = customary
        }
        return AuditSpec(
            attacks: attacks,
            norm: norm,
            epsilons: epsilons,
            data: data,
            numExamples: Int(message.numExamples),
            batchSize: message.batchSize == 0 ? SpecDefaults.auditBatchSize : Int(message.batchSize),
            seed: message.hasSeed ? message.seed : seed(),
            failUnder: message.hasFailUnder ? message.failUnder : nil,
            preprocessing: preprocessing(message.hasPreprocessing ? message.preprocessing : nil),
            outputKind: try outputKind(message.outputKind, field: "\(path).output_kind"),
            stepsCurve: message.hasStepsCurve
                ? AuditSpec.StepsCurve(
                    steps: message.stepsCurve.steps.isEmpty
                        ? AuditSpec.StepsCurve().steps : message.stepsCurve.steps.map { Int($0) },
                    numExamples: message.stepsCurve.numExamples == 0 ? 100 : Int(message.stepsCurve.numExamples)
                ) : nil,
            firstExample: message.firstExample == 0 ? nil : Int(message.firstExample)
        )
    }

    /// A hardening spec with the defaults filled in.
    /// `teacherThreat` looks up a stored teacher's threat model (the default audit's budget).
    static func hardenSpec(
        _ message: Rkd_V1_HardenSpec,
        seed: () -> UInt64 = { UInt64.random(in: 0...UInt64.max) },
        teacherThreat: (String) -> (Norm, Float)? = { _ in nil }
    ) throws -> HardenSpec {
        let method: HardenSpec.Method =
            switch message.method {
            case .unspecified, .robustKd: .robustKD
            case .shafahi: .shafahi
            case .adversarialTraining: .adversarialTraining
            case .finetune: .finetune
            case .UNRECOGNIZED(let value): throw unknown("spec.method", value)
            }
        let featureDistance: HardenSpec.FeatureDistance =
            switch message.featureDistance {
            case .unspecified, .cosine: .cosine
            case .l2: .l2
            case .UNRECOGNIZED(let value): throw unknown("spec.feature_distance", value)
            }
        let jacobian: HardenSpec.JacobianMode =
            switch message.jacobian {
            case .unspecified, .exact: .exact
            case .finiteDifference: .finiteDifference
            case .UNRECOGNIZED(let value): throw unknown("spec.jacobian", value)
            }
        let projectionScope: HardenSpec.ProjectionScope =
            switch message.projectionScope {
            case .perLayer: .perLayer
            case .unspecified, .joint: .joint
            case .UNRECOGNIZED(let value): throw unknown("spec.projection_scope", value)
            }
        let data = try selection(message.hasData ? message.data : nil, defaultSplit: .train, field: "spec.data")
        let adversarialTraining =
            message.hasAdversarial ? try adversarial(message.adversarial, field: "spec.adversarial") : nil
        let audit: AuditSpec?
        if message.hasAudit {
            audit = try auditSpec(message.audit, path: "spec.audit", seed: seed)
        } else {
            let examples: Int?
            switch message.auditLevel {
            case .unspecified, .quick: examples = SpecDefaults.hardenAuditExamples
            case .standard: examples = 1000
            case .none: examples = nil
            case .UNRECOGNIZED(let value): throw unknown("spec.audit_level", value)
            }
            if let examples {
                // The teacher's threat model, else adversarial training's, else the data set's customary one.
                let threat: (Norm, Float) =
                    teacherThreat(message.teacher)
                    ?? adversarialTraining.map { ($0.norm, $0.epsilon) }
                    ?? (.linf, SpecDefaults.epsilons(dataset: data.name, norm: .linf)?[1] ?? 0.1)
                var short = Rkd_V1_AuditSpec()
                short.attacks = [
                    .with { $0.attack = .fgsm },
                    .with {
                        $0.attack = .pgd
                        $0.steps = 20
                    },
                    .with { $0.attack = .autoattack },
                ]
                short.norm = threat.0 == .linf ? .linf : .l2
                short.epsilons = [threat.1]
                short.data = Rkd_V1_DatasetSelection.with {
                    $0.name = data.name
                    $0.split = .test
                    $0.classes = data.classes.map { UInt32($0) }
                }
                short.numExamples = UInt32(examples)
                audit = try auditSpec(short, path: "spec.audit", seed: seed)
            } else {
                audit = nil
            }
        }
        let initialization: HardenSpec.Initialization =
            switch message.init_p {
            case .unspecified, .model: .model
            case .teacher: .teacher
            case .UNRECOGNIZED(let value): throw unknown("spec.init", value)
            }
        return HardenSpec(
            teacher: message.teacher.isEmpty ? nil : message.teacher,
            method: method,
            alpha: message.hasAlpha ? message.alpha : SpecDefaults.alpha(method: method, distance: featureDistance),
            beta: message.hasBeta ? message.beta : 5e-3,
            projections: message.hasProjections ? Int(message.projections) : 1,
            featureDistance: featureDistance,
            jacobian: jacobian,
            finiteDifferenceStep: message.hasFiniteDifferenceStep
                ? message.finiteDifferenceStep : SpecDefaults.finiteDifferenceStep,
            projectionScope: projectionScope,
            layers: message.layers.map { HardenSpec.LayerPair(teacher: $0.teacher, student: $0.student) },
            data: data,
            schedule: try schedule(message.hasSchedule ? message.schedule : nil, kind: .harden, seed: seed),
            adversarial: adversarialTraining,
            audit: audit,
            preprocessing: preprocessing(message.hasPreprocessing ? message.preprocessing : nil),
            initialization: initialization
        )
    }

    /// A teacher-training spec with the defaults filled in.
    static func teacherTrainingSpec(
        _ message: Rkd_V1_TeacherTrainingSpec,
        seed: () -> UInt64 = { UInt64.random(in: 0...UInt64.max) }
    ) throws -> TeacherTrainingSpec {
        let architecture: TeacherTrainingSpec.Architecture =
            switch message.architecture {
            case .unspecified, .resnet20: .resnet20
            case .smallCnn: .smallCNN
            case .UNRECOGNIZED(let value): throw unknown("spec.architecture", value)
            }
        return TeacherTrainingSpec(
            name: message.name,
            architecture: architecture,
            width: message.width == 0 ? 16 : Int(message.width),
            data: try selection(message.hasData ? message.data : nil, defaultSplit: .train, field: "spec.data"),
            adversarial: try adversarial(message.adversarial, field: "spec.adversarial"),
            schedule: try schedule(message.hasSchedule ? message.schedule : nil, kind: .teacherTraining, seed: seed),
            evalExamples: message.evalExamples == 0 ? SpecDefaults.teacherEvalExamples : Int(message.evalExamples)
        )
    }

    static func norm(_ norm: Rkd_V1_Norm, field: String) throws -> Norm {
        switch norm {
        case .unspecified, .linf: return .linf
        case .l2: return .l2
        case .UNRECOGNIZED(let value): throw unknown(field, value)
        }
    }

    static func attack(_ config: Rkd_V1_AttackConfig, field: String) throws -> AttackSettings {
        let kind: AttackKind
        switch config.attack {
        case .fgsm: kind = .fgsm
        case .pgd: kind = .pgd
        case .miFgsm: kind = .miFGSM
        case .cwL2: kind = .cwL2
        case .apgdCe: kind = .apgdCE
        case .apgdT: kind = .apgdT
        case .fabT: kind = .fabT
        case .square: kind = .square
        case .autoattack: kind = .autoAttack
        case .unspecified:
            throw RPCError(
                code: .invalidArgument,
                message: "\(field).attack is not set; name an attack, e.g. ATTACK_PGD or ATTACK_AUTOATTACK"
            )
        case .UNRECOGNIZED(let value): throw unknown("\(field).attack", value)
        }
        return AttackSettings(
            kind,
            steps: config.hasSteps ? Int(config.steps) : nil,
            stepSize: config.hasStepSize ? config.stepSize : nil,
            restarts: Int(config.restarts)
        )
    }

    static func selection(
        _ message: Rkd_V1_DatasetSelection?,
        defaultSplit: DatasetSelection.Split,
        field: String
    ) throws -> DatasetSelection {
        let message = message ?? Rkd_V1_DatasetSelection()
        let split: DatasetSelection.Split =
            switch message.split {
            case .unspecified: defaultSplit
            case .train: .train
            case .test: .test
            case .UNRECOGNIZED(let value): throw unknown("\(field).split", value)
            }
        let half: DatasetSelection.Half? =
            switch message.half {
            case .unspecified: nil
            case .first: .first
            case .second: .second
            case .UNRECOGNIZED(let value): throw unknown("\(field).half", value)
            }
        if message.inputsNpyDigest.isEmpty != message.labelsNpyDigest.isEmpty {
            throw RPCError(
                code: .invalidArgument,
                message: "\(field): give both inputs_npy_digest and labels_npy_digest (uploaded examples) or neither"
            )
        }
        return DatasetSelection(
            name: message.inputsNpyDigest.isEmpty
                ? (message.name.isEmpty ? SpecDefaults.dataset : message.name) : "uploaded",
            split: split,
            classes: message.classes.map { Int($0) },
            half: half,
            uploaded: message.inputsNpyDigest.isEmpty
                ? nil
                : .init(
                    inputsDigest: message.inputsNpyDigest.lowercased(),
                    labelsDigest: message.labelsNpyDigest.lowercased()
                )
        )
    }

    static func preprocessing(_ message: Rkd_V1_Preprocessing?) -> Preprocessing {
        Preprocessing(mean: message?.mean ?? [], std: message?.std ?? [])
    }

    static func outputKind(_ kind: Rkd_V1_OutputKind, field: String) throws -> OutputKind? {
        switch kind {
        case .unspecified: return nil
        case .logits: return .logits
        case .probabilities: return .probabilities
        case .UNRECOGNIZED(let value): throw unknown(field, value)
        }
    }

    static func adversarial(_ message: Rkd_V1_AdversarialTraining, field: String) throws -> AdversarialTraining {
        AdversarialTraining(
            norm: try norm(message.norm, field: "\(field).norm"),
            epsilon: message.epsilon,
            steps: message.hasSteps ? Int(message.steps) : SpecDefaults.adversarialSteps,
            stepSize: message.hasStepSize ? message.stepSize : nil,
            tradesBeta: message.hasTradesBeta ? message.tradesBeta : nil
        )
    }

    static func schedule(
        _ message: Rkd_V1_TrainingSchedule?,
        kind: JobKind,
        seed: () -> UInt64
    ) throws -> TrainingSchedule {
        let message = message ?? Rkd_V1_TrainingSchedule()
        if message.hasStepGamma && message.stepMilestones.isEmpty {
            throw RPCError(
                code: .invalidArgument,
                message:
                    "spec.schedule.step_gamma is set without step_milestones; list the epochs at which the rate falls"
            )
        }
        let defaults = SpecDefaults.schedule(for: kind)
        return TrainingSchedule(
            epochs: message.epochs == 0 ? defaults.epochs : Int(message.epochs),
            batchSize: message.batchSize == 0 ? SpecDefaults.batchSize : Int(message.batchSize),
            learningRate: message.hasLearningRate ? message.learningRate : defaults.learningRate,
            momentum: message.hasMomentum ? message.momentum : SpecDefaults.momentum,
            weightDecay: message.hasWeightDecay ? message.weightDecay : SpecDefaults.weightDecay,
            seed: message.hasSeed ? message.seed : seed(),
            checkpointEvery: message.checkpointEvery == 0 ? SpecDefaults.checkpointEvery : Int(message.checkpointEvery),
            decay: message.stepMilestones.isEmpty
                ? .cosine
                : .step(
                    milestoneEpochs: message.stepMilestones.map { Int($0) },
                    gamma: message.hasStepGamma ? message.stepGamma : SpecDefaults.stepGamma
                )
        )
    }

    static func unknown(_ field: String, _ value: Int) -> RPCError {
        RPCError(
            code: .invalidArgument,
            message:
                "\(field) has the value \(value), which this rkdd does not know; use a value from rkd/v1/specs.proto"
        )
    }

    // MARK: - Specs to messages

    /// The spec as the API shows it in `Job.spec`: every field set, as the job runs.
    static func spec(_ spec: JobSpec) -> Rkd_V1_Job.OneOf_Spec {
        switch spec {
        case .audit(let audit): .audit(message(audit))
        case .harden(let harden): .harden(message(harden))
        case .teacherTraining(let teacher): .teacherTraining(message(teacher))
        }
    }

    static func message(_ spec: AuditSpec) -> Rkd_V1_AuditSpec {
        var message = Rkd_V1_AuditSpec()
        message.attacks = spec.attacks.map { Self.message($0) }
        message.norm = norm(spec.norm)
        message.epsilons = spec.epsilons
        message.data = Self.message(spec.data)
        message.numExamples = UInt32(clamping: spec.numExamples)
        message.firstExample = UInt32(clamping: spec.firstExample ?? 0)
        message.batchSize = UInt32(clamping: spec.batchSize)
        message.seed = spec.seed
        if let failUnder = spec.failUnder { message.failUnder = failUnder }
        if !spec.preprocessing.mean.isEmpty || !spec.preprocessing.std.isEmpty {
            message.preprocessing = self.message(spec.preprocessing)
        }
        message.outputKind =
            switch spec.outputKind {
            case nil: .unspecified
            case .logits: .logits
            case .probabilities: .probabilities
            }
        if let curve = spec.stepsCurve {
            message.stepsCurve.steps = curve.steps.map { UInt32(clamping: $0) }
            message.stepsCurve.numExamples = UInt32(clamping: curve.numExamples)
        }
        return message
    }

    static func message(_ spec: HardenSpec) -> Rkd_V1_HardenSpec {
        var message = Rkd_V1_HardenSpec()
        message.teacher = spec.teacher ?? ""
        message.method =
            switch spec.method {
            case .robustKD: .robustKd
            case .shafahi: .shafahi
            case .adversarialTraining: .adversarialTraining
            case .finetune: .finetune
            }
        message.alpha = spec.alpha
        message.beta = spec.beta
        message.projections = UInt32(clamping: spec.projections)
        message.featureDistance =
            switch spec.featureDistance {
            case .cosine: .cosine
            case .l2: .l2
            }
        message.jacobian =
            switch spec.jacobian {
            case .exact: .exact
            case .finiteDifference: .finiteDifference
            }
        message.finiteDifferenceStep = spec.finiteDifferenceStep
        message.projectionScope =
            switch spec.projectionScope {
            case .perLayer: .perLayer
            case .joint: .joint
            }
        message.layers = spec.layers.map { pair in
            Rkd_V1_LayerPair.with {
                $0.teacher = pair.teacher
                $0.student = pair.student
            }
        }
        message.data = self.message(spec.data)
        message.schedule = self.message(spec.schedule)
        if let adversarial = spec.adversarial { message.adversarial = self.message(adversarial) }
        if let audit = spec.audit { message.audit = self.message(audit) } else { message.auditLevel = .none }
        message.init_p = spec.initialization == .teacher ? .teacher : .model
        if !spec.preprocessing.mean.isEmpty || !spec.preprocessing.std.isEmpty {
            message.preprocessing = self.message(spec.preprocessing)
        }
        return message
    }

    static func message(_ spec: TeacherTrainingSpec) -> Rkd_V1_TeacherTrainingSpec {
        var message = Rkd_V1_TeacherTrainingSpec()
        message.name = spec.name
        message.architecture =
            switch spec.architecture {
            case .resnet20: .resnet20
            case .smallCNN: .smallCnn
            }
        message.width = UInt32(clamping: spec.width)
        message.data = self.message(spec.data)
        message.adversarial = self.message(spec.adversarial)
        message.schedule = self.message(spec.schedule)
        message.evalExamples = UInt32(clamping: spec.evalExamples)
        return message
    }

    /// The API's attack for an attack name of a report ("apgd-ce", …); UNSPECIFIED for names the API
    /// has no value for.
    static func attackEnum(_ name: String) -> Rkd_V1_Attack {
        guard let kind = AttackKind(rawValue: name) else { return .unspecified }
        return message(AttackSettings(kind)).attack
    }

    static func message(_ attack: AttackSettings) -> Rkd_V1_AttackConfig {
        var message = Rkd_V1_AttackConfig()
        message.attack =
            switch attack.kind {
            case .fgsm: .fgsm
            case .pgd: .pgd
            case .miFGSM: .miFgsm
            case .cwL2: .cwL2
            case .apgdCE: .apgdCe
            case .apgdT: .apgdT
            case .fabT: .fabT
            case .square: .square
            case .autoAttack: .autoattack
            }
        if let steps = attack.steps { message.steps = UInt32(clamping: steps) }
        if let stepSize = attack.stepSize { message.stepSize = stepSize }
        message.restarts = UInt32(clamping: attack.restarts)
        return message
    }

    static func norm(_ norm: Norm) -> Rkd_V1_Norm {
        switch norm {
        case .linf: .linf
        case .l2: .l2
        }
    }

    static func message(_ data: DatasetSelection) -> Rkd_V1_DatasetSelection {
        var message = Rkd_V1_DatasetSelection()
        message.name = data.name
        message.split =
            switch data.split {
            case .train: .train
            case .test: .test
            }
        message.classes = data.classes.map { UInt32(clamping: $0) }
        message.half =
            switch data.half {
            case nil: .unspecified
            case .first: .first
            case .second: .second
            }
        if let uploaded = data.uploaded {
            message.inputsNpyDigest = uploaded.inputsDigest
            message.labelsNpyDigest = uploaded.labelsDigest
        }
        return message
    }

    static func message(_ preprocessing: Preprocessing) -> Rkd_V1_Preprocessing {
        var message = Rkd_V1_Preprocessing()
        message.mean = preprocessing.mean
        message.std = preprocessing.std
        return message
    }

    static func message(_ adversarial: AdversarialTraining) -> Rkd_V1_AdversarialTraining {
        var message = Rkd_V1_AdversarialTraining()
        message.norm = norm(adversarial.norm)
        message.epsilon = adversarial.epsilon
        message.steps = UInt32(clamping: adversarial.steps)
        if let stepSize = adversarial.stepSize { message.stepSize = stepSize }
        if let beta = adversarial.tradesBeta { message.tradesBeta = beta }
        return message
    }

    static func message(_ schedule: TrainingSchedule) -> Rkd_V1_TrainingSchedule {
        var message = Rkd_V1_TrainingSchedule()
        message.epochs = UInt32(clamping: schedule.epochs)
        message.batchSize = UInt32(clamping: schedule.batchSize)
        message.learningRate = schedule.learningRate
        message.momentum = schedule.momentum
        message.weightDecay = schedule.weightDecay
        message.seed = schedule.seed
        message.checkpointEvery = UInt32(clamping: schedule.checkpointEvery)
        if case .step(let milestones, let gamma) = schedule.decay {
            message.stepMilestones = milestones.map { UInt32(clamping: $0) }
            message.stepGamma = gamma
        }
        return message
    }
}
