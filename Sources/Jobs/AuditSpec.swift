/// An audit: each attack at each budget over a set of examples. The fields mirror `rkd.v1.AuditSpec`;
/// the daemon fills in defaults before it stores a job, so a stored spec says what runs.
public struct AuditSpec: Codable, Hashable, Sendable {
    /// The attacks to run, at least one.
    public var attacks: [AttackSettings]
    /// The threat model's norm.
    public var norm: Norm
    /// The budgets, each > 0, in pixel units.
    public var epsilons: [Float]
    /// The examples to attack.
    public var data: DatasetSelection
    /// How many examples, in order from the selection; 0: all (from `firstExample` on).
    public var numExamples: Int
    /// How many examples of the selection to skip first; nil (a spec stored before the field existed)
    /// or 0: none. Audits of disjoint slices give each example the outcome of one audit of the whole.
    public var firstExample: Int?
    /// Examples per batch, ≥ 1.
    public var batchSize: Int
    /// The seed of every random choice.
    public var seed: UInt64
    /// The pass mark for robust accuracy in [0, 1], if any.
    public var failUnder: Double?
    /// Normalisation before the model.
    public var preprocessing: Preprocessing
    /// How to read the model's output; `nil`: detect it.
    public var outputKind: OutputKind?
    /// The accuracy-vs-steps curve, if asked for.
    public var stepsCurve: StepsCurve?

    /// PGD's robust accuracy by iteration count (the paper's figures 4 and 5).
    public struct StepsCurve: Codable, Hashable, Sendable {
        /// The iteration counts (0: clean).
        public var steps: [Int]
        /// Examples, the first of the audit's.
        public var numExamples: Int

        /// Creates a curve; the defaults are the paper's counts on 100 examples.
        public init(steps: [Int] = [0, 7, 25, 100, 250, 1000], numExamples: Int = 100) {
            self.steps = steps
            self.numExamples = numExamples
        }
    }

    /// Creates an audit spec.
    public init(
        attacks: [AttackSettings],
        norm: Norm,
        epsilons: [Float],
        data: DatasetSelection,
        numExamples: Int,
        batchSize: Int,
        seed: UInt64,
        failUnder: Double? = nil,
        preprocessing: Preprocessing = Preprocessing(),
        outputKind: OutputKind? = nil,
        stepsCurve: StepsCurve? = nil,
        firstExample: Int? = nil
    ) {
        self.stepsCurve = stepsCurve
        self.firstExample = firstExample
        self.attacks = attacks
        self.norm = norm
        self.epsilons = epsilons
        self.data = data
        self.numExamples = numExamples
        self.batchSize = batchSize
        self.seed = seed
        self.failUnder = failUnder
        self.preprocessing = preprocessing
        self.outputKind = outputKind
    }

    /// Checks every field's range.
    /// - Throws: ``JobSpecError`` naming the first bad field, prefixed with `path`.
    public func validate(path: String = "spec") throws(JobSpecError) {
        guard !attacks.isEmpty else { throw JobSpecError(field: "\(path).attacks", "name at least one attack") }
        for (index, attack) in attacks.enumerated() {
            let field = "\(path).attacks[\(index)]"
            guard attack.kind.supports(norm) else {
                throw JobSpecError(
                    field: field,
                    "\(attack.kind.rawValue) is not defined for the \(norm.rawValue) norm; drop it or change the norm"
                )
            }
            if let steps = attack.steps, steps < 1 {
                throw JobSpecError(field: "\(field).steps", "must be at least 1, not \(steps)")
            }
            if let stepSize = attack.stepSize {
                try JobSpecError.requirePositive(stepSize, field: "\(field).step_size")
            }
            guard attack.restarts >= 0 else {
                throw JobSpecError(field: "\(field).restarts", "must not be negative")
            }
        }
        guard !epsilons.isEmpty else { throw JobSpecError(field: "\(path).epsilons", "give at least one budget") }
        for (index, epsilon) in epsilons.enumerated() {
            try JobSpecError.requirePositive(epsilon, field: "\(path).epsilons[\(index)]")
        }
        try data.validate(path: "\(path).data")
        guard numExamples >= 0 else {
            throw JobSpecError(field: "\(path).num_examples", "must not be negative")
        }
        if let firstExample, firstExample < 0 {
            throw JobSpecError(field: "\(path).first_example", "must not be negative")
        }
        guard batchSize >= 1 else {
            throw JobSpecError(field: "\(path).batch_size", "must be at least 1, not \(batchSize)")
        }
        if let failUnder, !(0...1).contains(failUnder) {
            throw JobSpecError(
                field: "\(path).fail_under",
                "is a robust accuracy between 0 and 1, not \(failUnder); write 0.4 for 40 %"
            )
        }
        try preprocessing.validate(path: "\(path).preprocessing")
        if let stepsCurve {
            guard !stepsCurve.steps.isEmpty, stepsCurve.steps.allSatisfy({ (0...100_000).contains($0) }) else {
                throw JobSpecError(field: "\(path).steps_curve.steps", "give iteration counts between 0 and 100000")
            }
            guard stepsCurve.numExamples >= 1 else {
                throw JobSpecError(field: "\(path).steps_curve.num_examples", "must be at least 1")
            }
        }
    }
}

extension DatasetSelection {
    func validate(path: String) throws(JobSpecError) {
        guard !name.isEmpty else { throw JobSpecError(field: "\(path).name", "name a data set") }
        if let uploaded {
            for (field, digest) in [
                ("inputs_npy_digest", uploaded.inputsDigest), ("labels_npy_digest", uploaded.labelsDigest),
            ]
            where SHA256Digest(hex: digest) == nil {
                throw JobSpecError(
                    field: "\(path).\(field)",
                    "is not a SHA-256 digest (64 hex digits); upload the .npy file with UploadModel and pass its digest"
                )
            }
        }
        if let bad = classes.first(where: { $0 < 0 }) {
            throw JobSpecError(field: "\(path).classes", "class indices start at 0; \(bad) is not one")
        }
        guard Set(classes).count == classes.count else {
            throw JobSpecError(field: "\(path).classes", "lists a class twice")
        }
    }
}

extension Preprocessing {
    func validate(path: String) throws(JobSpecError) {
        guard mean.count == std.count else {
            throw JobSpecError(
                field: path,
                "has \(mean.count) means but \(std.count) standard deviations; give one of each per channel"
            )
        }
        for (index, value) in mean.enumerated() where !value.isFinite {
            throw JobSpecError(field: "\(path).mean[\(index)]", "must be a finite number")
        }
        for (index, value) in std.enumerated() {
            try JobSpecError.requirePositive(value, field: "\(path).std[\(index)]")
        }
    }
}
