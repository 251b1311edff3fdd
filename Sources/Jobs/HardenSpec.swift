/// A hardening job: fine-tune a model's weights for robustness and keep its graph. Mirrors
/// `rkd.v1.HardenSpec` with the defaults filled in.
public struct HardenSpec: Codable, Hashable, Sendable {
    /// The hardening method.
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// Robust-KD: clean cross-entropy + α·feature loss + β·Jacobian loss against a teacher.
        case robustKD = "robust-kd"
        /// Shafahi et al. 2020: last-layer feature distillation (α is λ).
        case shafahi
        /// PGD adversarial training of the model itself, without a teacher.
        case adversarialTraining = "adversarial-training"
        /// Cross-entropy on clean data only, no teacher: the baseline that shows what distillation adds.
        case finetune
    }

    /// How feature maps are compared.
    public enum FeatureDistance: String, Codable, Sendable, CaseIterable {
        /// 1 − cosine similarity.
        case cosine
        /// Squared Euclidean distance.
        case l2
    }

    /// How the Jacobian term is differentiated.
    public enum JacobianMode: String, Codable, Sendable, CaseIterable {
        /// Double back-propagation.
        case exact
        /// A central finite difference of the directional derivative.
        case finiteDifference = "finite-difference"
    }

    /// How the Jacobian term's random projections span the paired layers.
    public enum ProjectionScope: String, Codable, Sendable, CaseIterable {
        /// One projected Jacobian per layer, as the paper.
        case perLayer = "per-layer"
        /// One projected Jacobian per network spanning every paired layer: the per-layer sum's
        /// expectation, one input gradient per network and projection.
        case joint
    }

    /// Where the student's weights start.
    public enum Initialization: String, Codable, Sendable, CaseIterable {
        /// The model's own weights.
        case model
        /// The teacher's weights (a model of the teacher's architecture), as the paper does.
        case teacher
    }

    /// A teacher feature tap paired with a student feature tap.
    public struct LayerPair: Codable, Hashable, Sendable {
        /// The tensor name in the teacher's graph.
        public var teacher: String
        /// The tensor name in the student's graph.
        public var student: String

        /// Creates a pair.
        public init(teacher: String, student: String) {
            self.teacher = teacher
            self.student = student
        }
    }

    /// The teacher's name; `nil` only for adversarial training.
    public var teacher: String?
    /// The method.
    public var method: Method
    /// Weight of the feature-map loss, ≥ 0.
    public var alpha: Float
    /// Weight of the Jacobian loss, ≥ 0.
    public var beta: Float
    /// Random projections per step, ≥ 1.
    public var projections: Int
    /// How feature maps are compared.
    public var featureDistance: FeatureDistance
    /// How the Jacobian term is differentiated.
    public var jacobian: JacobianMode
    /// The step of the finite-difference mode, > 0.
    public var finiteDifferenceStep: Float
    /// How the Jacobian term's projections span the layers.
    public var projectionScope: ProjectionScope
    /// The feature maps to match; empty: pair by spatial resolution.
    public var layers: [LayerPair]
    /// The training examples.
    public var data: DatasetSelection
    /// Optimiser and schedule.
    public var schedule: TrainingSchedule
    /// The inner attack, for ``Method/adversarialTraining``.
    public var adversarial: AdversarialTraining?
    /// The audit run before and after; `nil`: none.
    public var audit: AuditSpec?
    /// Where the weights start.
    public var initialization: Initialization
    /// Normalisation before the model.
    public var preprocessing: Preprocessing

    /// Creates a hardening spec; `alpha`, `beta`, `projections` and the modes default to the paper's settings
    /// (METHOD.md), except the projection scope: joint, which matched the paper's per-layer projections'
    /// robustness in the three experiments of docs/EXPERIMENTS.md at about 1.5 times the speed.
    public init(
        teacher: String?,
        method: Method = .robustKD,
        alpha: Float = 50,
        beta: Float = 5e-3,
        projections: Int = 1,
        featureDistance: FeatureDistance = .cosine,
        jacobian: JacobianMode = .exact,
        finiteDifferenceStep: Float,
        projectionScope: ProjectionScope = .joint,
        layers: [LayerPair] = [],
        data: DatasetSelection,
        schedule: TrainingSchedule,
        adversarial: AdversarialTraining? = nil,
        audit: AuditSpec?,
        preprocessing: Preprocessing = Preprocessing(),
        initialization: Initialization = .model
    ) {
        self.initialization = initialization
        self.teacher = teacher
        self.method = method
        self.alpha = alpha
        self.beta = beta
        self.projections = projections
        self.featureDistance = featureDistance
        self.jacobian = jacobian
        self.finiteDifferenceStep = finiteDifferenceStep
        self.projectionScope = projectionScope
        self.layers = layers
        self.data = data
        self.schedule = schedule
        self.adversarial = adversarial
        self.audit = audit
        self.preprocessing = preprocessing
    }

    /// Decodes a stored spec; one stored before `projectionScope` existed reads as per layer, the
    /// scope it ran with (the default for new specs is joint since 2026-12-05).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        teacher = try container.decodeIfPresent(String.self, forKey: .teacher)
        method = try container.decode(Method.self, forKey: .method)
        alpha = try container.decode(Float.self, forKey: .alpha)
        beta = try container.decode(Float.self, forKey: .beta)
        projections = try container.decode(Int.self, forKey: .projections)
        featureDistance = try container.decode(FeatureDistance.self, forKey: .featureDistance)
        jacobian = try container.decode(JacobianMode.self, forKey: .jacobian)
        finiteDifferenceStep = try container.decode(Float.self, forKey: .finiteDifferenceStep)
        projectionScope = try container.decodeIfPresent(ProjectionScope.self, forKey: .projectionScope) ?? .perLayer
        layers = try container.decode([LayerPair].self, forKey: .layers)
        data = try container.decode(DatasetSelection.self, forKey: .data)
        schedule = try container.decode(TrainingSchedule.self, forKey: .schedule)
        adversarial = try container.decodeIfPresent(AdversarialTraining.self, forKey: .adversarial)
        audit = try container.decodeIfPresent(AuditSpec.self, forKey: .audit)
        initialization = try container.decode(Initialization.self, forKey: .initialization)
        preprocessing = try container.decode(Preprocessing.self, forKey: .preprocessing)
    }

    /// Checks every field's range.
    /// - Throws: ``JobSpecError`` naming the first bad field.
    public func validate(path: String = "spec") throws(JobSpecError) {
        switch method {
        case .robustKD, .shafahi:
            guard let teacher, !teacher.isEmpty else {
                throw JobSpecError(field: "\(path).teacher", "name a stored teacher (rkdctl teacher list)")
            }
        case .finetune:
            break
        case .adversarialTraining:
            guard let adversarial else {
                throw JobSpecError(field: "\(path).adversarial", "adversarial training needs a norm and an epsilon")
            }
            try adversarial.validate(path: "\(path).adversarial")
        }
        for (value, field) in [(alpha, "alpha"), (beta, "beta")] where !(value.isFinite && value >= 0) {
            throw JobSpecError(field: "\(path).\(field)", "must be a finite number ≥ 0, not \(value)")
        }
        guard projections >= 1 else {
            throw JobSpecError(field: "\(path).projections", "must be at least 1, not \(projections)")
        }
        try JobSpecError.requirePositive(finiteDifferenceStep, field: "\(path).finite_difference_step")
        for (index, pair) in layers.enumerated() where pair.teacher.isEmpty || pair.student.isEmpty {
            throw JobSpecError(field: "\(path).layers[\(index)]", "needs both a teacher and a student tensor name")
        }
        try data.validate(path: "\(path).data")
        try schedule.validate(path: "\(path).schedule")
        try audit?.validate(path: "\(path).audit")
        if initialization == .teacher, (teacher ?? "").isEmpty {
            throw JobSpecError(field: "\(path).teacher", "starting from the teacher's weights needs a teacher")
        }
        try preprocessing.validate(path: "\(path).preprocessing")
    }
}
