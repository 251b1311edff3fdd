/// Adversarial training of a new teacher. Mirrors `rkd.v1.TeacherTrainingSpec` with the defaults filled in.
public struct TeacherTrainingSpec: Codable, Hashable, Sendable {
    /// Architectures rkd can train.
    public enum Architecture: String, Codable, Sendable, CaseIterable {
        /// ResNet-20.
        case resnet20
        /// A small convolutional network.
        case smallCNN = "small-cnn"
    }

    /// The name to store the teacher under (see ``isValidTeacherName(_:)``).
    public var name: String
    /// The architecture.
    public var architecture: Architecture
    /// Channels of the first stage, ≥ 1.
    public var width: Int
    /// The training examples.
    public var data: DatasetSelection
    /// The threat model trained against.
    public var adversarial: AdversarialTraining
    /// Optimiser and schedule.
    public var schedule: TrainingSchedule
    /// Test examples for the manifest's accuracies, ≥ 1.
    public var evalExamples: Int

    /// Creates a teacher-training spec.
    public init(
        name: String,
        architecture: Architecture = .resnet20,
        width: Int = 16,
        data: DatasetSelection,
        adversarial: AdversarialTraining,
        schedule: TrainingSchedule,
        evalExamples: Int
    ) {
        self.name = name
        self.architecture = architecture
        self.width = width
        self.data = data
        self.adversarial = adversarial
        self.schedule = schedule
        self.evalExamples = evalExamples
    }

    /// Whether `name` can name a teacher: 1 to 64 characters from a–z, 0–9, `.`, `_`, `-`, starting with
    /// a letter or digit. Such a name is safe as a directory name.
    public static func isValidTeacherName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// Checks every field's range.
    /// - Throws: ``JobSpecError`` naming the first bad field.
    public func validate(path: String = "spec") throws(JobSpecError) {
        guard Self.isValidTeacherName(name) else {
            throw JobSpecError(
                field: "\(path).name",
                "'\(name)' is not a teacher name: use 1 to 64 characters from a-z, 0-9, '.', '_', '-', starting "
                    + "with a letter or digit, e.g. fmnist-resnet20-at"
            )
        }
        guard width >= 1 else { throw JobSpecError(field: "\(path).width", "must be at least 1, not \(width)") }
        try data.validate(path: "\(path).data")
        try adversarial.validate(path: "\(path).adversarial")
        try schedule.validate(path: "\(path).schedule")
        guard evalExamples >= 1 else {
            throw JobSpecError(field: "\(path).eval_examples", "must be at least 1, not \(evalExamples)")
        }
    }
}
