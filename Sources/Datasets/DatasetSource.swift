/// Where a data set's files are and what the published data set looks like: one entry of a
/// `DatasetCatalog`.
public struct DatasetSource: Hashable, Sendable {
    /// How the files are laid out.
    public enum Format: String, Hashable, Sendable {
        /// MNIST's IDX files: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
        /// and `t10k-labels-idx1-ubyte`, each gzip-compressed (with `.gz` appended) or not.
        case idx
        /// CIFAR-10's binary batches: `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`.
        case cifar10Binary
    }

    /// The name requests use, e.g. `fashion-mnist`.
    public var name: String
    /// One line for people.
    public var description: String
    /// The file layout.
    public var format: Format
    /// The directory that holds the files.
    public var directory: String
    /// The class names, by label.
    public var classNames: [String]
    /// The shape of one example, [C, H, W], as published; reported while the files are missing (the
    /// files' own headers are reported once they are there).
    public var exampleShape: [Int]
    /// The training split's size as published (see `exampleShape`).
    public var trainExamples: Int
    /// The test split's size as published (see `exampleShape`).
    public var testExamples: Int
    /// How to get the files, e.g. `apt-get install dataset-fashion-mnist`.
    public var installHint: String

    /// A source described in full.
    public init(
        name: String,
        description: String,
        format: Format,
        directory: String,
        classNames: [String],
        exampleShape: [Int],
        trainExamples: Int,
        testExamples: Int,
        installHint: String
    ) {
        self.name = name
        self.description = description
        self.format = format
        self.directory = directory
        self.classNames = classNames
        self.exampleShape = exampleShape
        self.trainExamples = trainExamples
        self.testExamples = testExamples
        self.installHint = installHint
    }

    /// Where Debian's dataset-fashion-mnist package installs the files.
    public static let debianFashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// Fashion-MNIST (Xiao, Rasul and Vollgraf, arXiv:1708.07747): 28×28 grey images of clothing in 10
    /// classes, 60000 for training and 10000 for testing, from Debian's dataset-fashion-mnist package.
    public static func fashionMNIST(directory: String = debianFashionMNISTDirectory) -> DatasetSource {
        DatasetSource(
            name: "fashion-mnist",
            description: "Fashion-MNIST: 28×28 grey images of clothing and shoes in 10 classes (Zalando, 2017)",
            format: .idx,
            directory: directory,
            classNames: [
                "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                "Ankle boot",
            ],
            exampleShape: [1, 28, 28],
            trainExamples: 60000,
            testExamples: 10000,
            installHint: directory == debianFashionMNISTDirectory
                ? "apt-get install dataset-fashion-mnist"
                : "put Fashion-MNIST's four IDX files (gzip-compressed or not) in \(directory); "
                    + "apt-get install dataset-fashion-mnist installs them in \(debianFashionMNISTDirectory)"
        )
    }

    /// MNIST (LeCun, Cortes and Burges): 28×28 grey images of handwritten digits, 60000 for training and
    /// 10000 for testing, from IDX files the caller put in `directory` (Debian does not package them).
    public static func mnist(name: String = "mnist", directory: String) -> DatasetSource {
        DatasetSource(
            name: name,
            description: "MNIST: 28×28 grey images of handwritten digits 0–9",
            format: .idx,
            directory: directory,
            classNames: (0...9).map(String.init),
            exampleShape: [1, 28, 28],
            trainExamples: 60000,
            testExamples: 10000,
            installHint: "put MNIST's four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                + "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; compressed or not) in \(directory)"
        )
    }

    /// CIFAR-10 (Krizhevsky, 2009): 32×32 colour images in 10 classes, 50000 for training and 10000 for
    /// testing, from the binary version's files the caller put in `directory` (Debian does not package them).
    public static func cifar10(name: String = "cifar-10", directory: String) -> DatasetSource {
        DatasetSource(
            name: name,
            description: "CIFAR-10: 32×32 colour images in 10 classes (Krizhevsky, 2009)",
            format: .cifar10Binary,
            directory: directory,
            classNames: CIFAR10Records.classNames,
            exampleShape: CIFAR10Records.exampleShape,
            trainExamples: 50000,
            testExamples: 10000,
            installHint: "extract the CIFAR-10 binary version (cifar-10-binary.tar.gz) and put its "
                + "data_batch_1.bin … data_batch_5.bin and test_batch.bin in \(directory)"
        )
    }

    /// The files of one part of a split, each with the names it may have, preferred first.
    struct FileRole {
        /// What the file holds, for messages: "test images".
        var role: String
        /// Candidate paths; the first that exists is used.
        var candidates: [String]
    }

    /// The files that make up `split`, in order.
    func files(for split: Dataset.Split) -> [FileRole] {
        switch format {
        case .idx:
            let prefix = split == .train ? "train" : "t10k"
            let parts = [("images", "\(prefix)-images-idx3-ubyte"), ("labels", "\(prefix)-labels-idx1-ubyte")]
            return parts.map { part in
                FileRole(role: "\(split) \(part.0)", candidates: [path(part.1 + ".gz"), path(part.1)])
            }
        case .cifar10Binary:
            let files = split == .train ? CIFAR10Records.trainFiles : CIFAR10Records.testFiles
            return files.map { FileRole(role: "\(split) batch \($0)", candidates: [path($0)]) }
        }
    }

    /// The paths of `split`'s files.
    /// - Throws: `.missingFile` naming the first missing file and how to install it.
    func resolvedFiles(for split: Dataset.Split) throws(DatasetError) -> [String] {
        var paths: [String] = []
        for file in files(for: split) {
            guard let found = file.candidates.first(where: InputFile.isRegularFile) else {
                let names = file.candidates.joined(separator: " or ")
                throw DatasetError(
                    .missingFile,
                    "\(name) is missing its \(file.role): \(names) does not exist; to install: \(installHint)",
                    path: file.candidates[0]
                )
            }
            paths.append(found)
        }
        return paths
    }

    private func path(_ file: String) -> String {
        directory.hasSuffix("/") ? directory + file : directory + "/" + file
    }
}
