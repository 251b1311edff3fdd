/// The examples a job uses: a data set, a split, optionally some classes and one half of the split.
public struct DatasetSelection: Codable, Hashable, Sendable {
    /// A split of a data set.
    public enum Split: String, Codable, Sendable, CaseIterable {
        /// The training split.
        case train
        /// The test split.
        case test
    }

    /// One half of a split, for same-source transfer experiments.
    public enum Half: String, Codable, Sendable, CaseIterable {
        /// The first half in the data set's order.
        case first
        /// The second half.
        case second
    }

    /// The data set's name, e.g. `fashion-mnist`.
    public var name: String
    /// The split.
    public var split: Split
    /// Only these class indices; empty: all.
    public var classes: [Int]
    /// Only this half of the split; `nil`: all of it.
    public var half: Half?
    /// Uploaded examples instead of a named data set: the digests of an inputs and a labels .npy file
    /// stored by UploadModel; `nil`: the named data set.
    public var uploaded: UploadedExamples?

    /// Examples the client uploaded as two .npy files.
    public struct UploadedExamples: Codable, Hashable, Sendable {
        /// The SHA-256 of the inputs file (hex).
        public var inputsDigest: String
        /// The SHA-256 of the labels file (hex).
        public var labelsDigest: String

        /// Creates the reference.
        public init(inputsDigest: String, labelsDigest: String) {
            self.inputsDigest = inputsDigest
            self.labelsDigest = labelsDigest
        }
    }

    /// Creates a selection.
    public init(name: String, split: Split, classes: [Int] = [], half: Half? = nil, uploaded: UploadedExamples? = nil) {
        self.uploaded = uploaded
        self.name = name
        self.split = split
        self.classes = classes
        self.half = half
    }
}

/// A per-channel normalisation applied to [0, 1] inputs before the model: `(x − mean[c]) / std[c]`.
public struct Preprocessing: Codable, Hashable, Sendable {
    /// One mean per channel; empty for none.
    public var mean: [Float]
    /// One standard deviation per channel.
    public var std: [Float]

    /// Creates a normalisation.
    public init(mean: [Float] = [], std: [Float] = []) {
        self.mean = mean
        self.std = std
    }
}

/// How a model's output is read.
public enum OutputKind: String, Codable, Sendable, CaseIterable {
    /// Unnormalised scores.
    case logits
    /// Probabilities (the graph ends in Softmax).
    case probabilities
}
