import Foundation

/// What a stored teacher is and how robust it is: `teachers/<name>/manifest.json`, beside the
/// teacher's ONNX file. Written by teacher-training jobs, by ImportTeacher (from what the importer
/// states, checked against the model) and shipped with the bundled teachers.
public struct TeacherManifest: Codable, Hashable, Sendable {
    /// The manifest format this build writes.
    public static let currentSchema = 1

    /// Where a teacher came from.
    public enum Source: String, Codable, Hashable, Sendable {
        /// Trained by a teacher-training job of this daemon.
        case trained
        /// Imported with ImportTeacher (made elsewhere).
        case imported
        /// Shipped with rkd (samples/teachers/).
        case bundled
    }

    /// How a trained teacher was trained.
    public struct Training: Codable, Hashable, Sendable {
        /// "pgd-at" (Madry et al.) or "trades" (Zhang et al.).
        public var method: String
        /// PGD iterations of the inner maximisation.
        public var steps: Int
        /// PGD step size in pixel units.
        public var stepSize: Float
        /// TRADES' β, for method "trades".
        public var tradesBeta: Float?
        /// Passes over the training examples.
        public var epochs: Int
        /// Examples per step.
        public var batchSize: Int
        /// Initial learning rate, its decay ("cosine" to 0, or "step ×γ at epochs …"; absent in
        /// manifests written before it was recorded: cosine), SGD momentum and weight decay.
        public var learningRate: Float
        public var learningRateDecay: String?
        public var momentum: Float
        public var weightDecay: Float
        /// Random-crop padding and flips, when used.
        public var augmentation: String?
        /// Training examples.
        public var examples: Int
        /// Wall time of the training, summed over the job's attempts, in seconds.
        public var seconds: Double
        /// Clean validation accuracy after every epoch (on the first examples of the test split).
        public var validationAccuracy: [Double]

        public init(
            method: String,
            steps: Int,
            stepSize: Float,
            tradesBeta: Float? = nil,
            epochs: Int,
            batchSize: Int,
            learningRate: Float,
            learningRateDecay: String? = nil,
            momentum: Float,
            weightDecay: Float,
            augmentation: String? = nil,
            examples: Int,
            seconds: Double,
            validationAccuracy: [Double]
        ) {
            self.method = method
            self.steps = steps
            self.stepSize = stepSize
            self.tradesBeta = tradesBeta
            self.epochs = epochs
            self.batchSize = batchSize
            self.learningRate = learningRate
            self.learningRateDecay = learningRateDecay
            self.momentum = momentum
            self.weightDecay = weightDecay
            self.augmentation = augmentation
            self.examples = examples
            self.seconds = seconds
            self.validationAccuracy = validationAccuracy
        }
    }

    /// The teacher's accuracies, measured by an audit at the training threat model.
    public struct Evaluation: Codable, Hashable, Sendable {
        /// Test examples (the first of the test split).
        public var examples: Int
        /// Clean accuracy in [0, 1].
        public var clean: Double
        /// PGD-20 accuracy (one restart) in [0, 1].
        public var pgd20: Double?
        /// AutoAttack-standard accuracy in [0, 1].
        public var autoAttack: Double?
        /// The seed of the audit's random choices.
        public var seed: UInt64
        /// The job whose report has the details (report.json), if any.
        public var reportJobID: String?

        public init(
            examples: Int,
            clean: Double,
            pgd20: Double?,
            autoAttack: Double?,
            seed: UInt64,
            reportJobID: String? = nil
        ) {
            self.examples = examples
            self.clean = clean
            self.pgd20 = pgd20
            self.autoAttack = autoAttack
            self.seed = seed
            self.reportJobID = reportJobID
        }

        /// The accuracy a robustness claim rests on: AutoAttack's when measured, else PGD-20's.
        public var robust: Double? { autoAttack ?? pgd20 }
    }

    /// The format version (``currentSchema``).
    public var schema: Int
    /// The teacher's name in the store.
    public var name: String
    /// The data set it was trained on: a catalogue name (e.g. "fashion-mnist") or, for imported
    /// teachers, whatever the importer stated.
    public var dataset: String
    /// The classes, as ``DatasetSelection/classes`` selected them (nil: all).
    public var datasetClasses: [Int]?
    /// One example's shape, [channels, height, width].
    public var inputShape: [Int]
    /// The range of input values the teacher expects, e.g. 0 and 1 for pixels in [0, 1].
    public var inputMin: Float
    public var inputMax: Float
    /// The class names, by output index.
    public var classNames: [String]
    /// The threat model it was trained against.
    public var norm: Norm
    public var epsilon: Float
    /// The architecture, e.g. "resnet20-w16".
    public var architecture: String
    /// How it was made, for people: the command or recipe.
    public var recipe: String
    /// The seed of every random choice of its training, when known.
    public var seed: UInt64?
    /// How it was trained (trained and bundled teachers).
    public var training: Training?
    /// How robust it is, when measured.
    public var evaluation: Evaluation?
    /// The SHA-256 of teacher.onnx, in hex.
    public var sha256: String
    /// The rkd version that wrote the manifest.
    public var rkdVersion: String
    /// Where it came from.
    public var source: Source
    /// The training job, for trained teachers.
    public var jobID: String?
    /// When it was stored.
    public var createdAt: Date

    public init(
        name: String,
        dataset: String,
        datasetClasses: [Int]? = nil,
        inputShape: [Int],
        inputMin: Float = 0,
        inputMax: Float = 1,
        classNames: [String],
        norm: Norm,
        epsilon: Float,
        architecture: String,
        recipe: String,
        seed: UInt64? = nil,
        training: Training? = nil,
        evaluation: Evaluation? = nil,
        sha256: String,
        rkdVersion: String,
        source: Source,
        jobID: String? = nil,
        createdAt: Date
    ) {
        schema = Self.currentSchema
        self.name = name
        self.dataset = dataset
        self.datasetClasses = datasetClasses
        self.inputShape = inputShape
        self.inputMin = inputMin
        self.inputMax = inputMax
        self.classNames = classNames
        self.norm = norm
        self.epsilon = epsilon
        self.architecture = architecture
        self.recipe = recipe
        self.seed = seed
        self.training = training
        self.evaluation = evaluation
        self.sha256 = sha256
        self.rkdVersion = rkdVersion
        self.source = source
        self.jobID = jobID
        self.createdAt = createdAt
    }

    /// The manifest as stored: pretty-printed JSON with sorted keys, dates in ISO 8601.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Reads a stored manifest.
    /// - Throws: ``ArtifactStoreError`` `.invalidManifest` saying what is wrong.
    public static func decode(_ data: Data, what: String) throws(ArtifactStoreError) -> TeacherManifest {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let manifest: TeacherManifest
        do {
            manifest = try decoder.decode(TeacherManifest.self, from: data)
        } catch {
            throw ArtifactStoreError(.invalidManifest, "\(what) is not a teacher manifest: \(error)")
        }
        guard manifest.schema <= currentSchema else {
            throw ArtifactStoreError(
                .invalidManifest,
                "\(what) has manifest schema \(manifest.schema), newer than this rkd's \(currentSchema); upgrade rkd"
            )
        }
        try manifest.validate(what: what)
        return manifest
    }

    /// Checks what a teacher must state: a name, a data set, a (C, H, W) input shape, an input range,
    /// one class name per output (≥ 2), a threat model with ε > 0.
    /// - Throws: ``ArtifactStoreError`` `.invalidManifest` naming the field.
    public func validate(what: String = "the manifest") throws(ArtifactStoreError) {
        func bad(_ message: String) -> ArtifactStoreError {
            ArtifactStoreError(.invalidManifest, "\(what): \(message)")
        }
        guard TeacherTrainingSpec.isValidTeacherName(name) else { throw bad("'\(name)' is not a teacher name") }
        guard !dataset.isEmpty else { throw bad("the data set is missing (say what the teacher was trained on)") }
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 >= 1 }) else {
            throw bad("input shape \(inputShape) is not [channels, height, width]")
        }
        guard inputMin.isFinite, inputMax.isFinite, inputMin < inputMax else {
            throw bad("input range [\(inputMin), \(inputMax)] is empty")
        }
        guard classNames.count >= 2 else {
            throw bad("\(classNames.count) class names; a classifier has at least 2, one per output")
        }
        guard epsilon.isFinite, epsilon > 0 else {
            throw bad("the threat model's ε is \(epsilon); state the budget the teacher was trained against (> 0)")
        }
        guard sha256.count == 64 else { throw bad("the digest '\(sha256)' is not a SHA-256") }
    }
}
