/// What the catalog knows about one data set: ListDatasets' `Dataset` message.
public struct DatasetInfo: Hashable, Sendable {
    /// The name requests use.
    public var name: String
    /// One line for people.
    public var description: String
    /// The shape of one example, [C, H, W].
    public var exampleShape: [Int]
    /// The class names, by label.
    public var classNames: [String]
    /// Examples in the training split: from the files when available, else as published.
    public var trainExamples: Int
    /// Examples in the test split: from the files when available, else as published.
    public var testExamples: Int
    /// Whether every file is present and its header readable.
    public var available: Bool
    /// Why it is not available (the missing or unreadable file); nil when available.
    public var unavailableReason: String?
    /// How to install it when it is not available; empty when available.
    public var installHint: String

    /// Creates an entry.
    public init(
        name: String,
        description: String,
        exampleShape: [Int],
        classNames: [String],
        trainExamples: Int,
        testExamples: Int,
        available: Bool,
        unavailableReason: String?,
        installHint: String
    ) {
        self.name = name
        self.description = description
        self.exampleShape = exampleShape
        self.classNames = classNames
        self.trainExamples = trainExamples
        self.testExamples = testExamples
        self.available = available
        self.unavailableReason = unavailableReason
        self.installHint = installHint
    }
}
