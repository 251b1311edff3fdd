/// The data sets this machine has, by name: Fashion-MNIST from Debian's dataset-fashion-mnist package,
/// plus any MNIST-style IDX or CIFAR-10 binary directories the configuration adds. It lists them
/// (ListDatasets) and loads a split with a class subset and a half (a job's data selection).
public struct DatasetCatalog: Sendable {
    /// The data sets, in the order given.
    public let sources: [DatasetSource]
    /// The bounds every file read must respect.
    public var limits: DatasetLimits

    /// The data sets known without configuration: Fashion-MNIST where Debian installs it.
    public static let defaultSources: [DatasetSource] = [.fashionMNIST()]

    /// A catalog of `sources`.
    /// - Throws: `.invalidArgument` for an empty name or a name used twice.
    public init(
        sources: [DatasetSource] = defaultSources,
        limits: DatasetLimits = DatasetLimits()
    ) throws(DatasetError) {
        var seen: Set<String> = []
        for source in sources {
            guard !source.name.isEmpty else {
                throw DatasetError(.invalidArgument, "a data set in \(source.directory) has no name")
            }
            guard seen.insert(source.name).inserted else {
                throw DatasetError(.invalidArgument, "two data sets are named \(source.name); give each its own name")
            }
        }
        self.sources = sources
        self.limits = limits
    }

    /// The source named `name`.
    /// - Throws: `.unknownDataset`, listing the names there are.
    public func source(named name: String) throws(DatasetError) -> DatasetSource {
        guard let source = sources.first(where: { $0.name == name }) else {
            let names = sources.map(\.name).sorted().joined(separator: ", ")
            throw DatasetError(.unknownDataset, "there is no data set named \"\(name)\"; the data sets are: \(names)")
        }
        return source
    }

    /// Every data set, sorted by name, each checked for its files (reading only their headers).
    public func entries() -> [DatasetInfo] {
        sources.sorted { $0.name < $1.name }.map(info(for:))
    }

    /// The entry of the data set named `name`.
    /// - Throws: `.unknownDataset`.
    public func info(named name: String) throws(DatasetError) -> DatasetInfo {
        info(for: try source(named: name))
    }

    /// One split of the data set named `name`, restricted to `classes` (empty: all) and then to `half`
    /// (nil: all), in the files' order; see `Dataset.selecting(classes:half:)`. A job's `DatasetSelection`
    /// maps field by field: the raw values of `Dataset.Split` and `Dataset.Half` are the same as its own.
    /// - Throws: `.unknownDataset`; `.missingFile` naming the file and the package or download to install;
    ///   `.corrupt`, `.truncated`, `.tooLarge` or `.unsupported` for a bad file; `.invalidArgument` for
    ///   classes the data set does not have.
    public func load(
        _ name: String,
        split: Dataset.Split,
        classes: [Int] = [],
        half: Dataset.Half? = nil
    ) throws(DatasetError) -> Dataset {
        let source = try source(named: name)
        let dataset: Dataset
        switch source.format {
        case .idx: dataset = try loadIDX(source, split: split)
        case .cifar10Binary: dataset = try loadCIFAR10(source, split: split)
        }
        return try dataset.selecting(classes: classes, half: half)
    }

    private func loadIDX(_ source: DatasetSource, split: Dataset.Split) throws(DatasetError) -> Dataset {
        let paths = try source.resolvedFiles(for: split)
        let images = try IDXArray(contentsOf: paths[0], limits: limits)
        let labels = try IDXArray(contentsOf: paths[1], limits: limits)
        _ = try checkIDXShapes(images: images.shape, labels: labels.shape, paths: paths, source: source)
        if let index = labels.elements.firstIndex(where: { Int($0) >= source.classNames.count }) {
            throw DatasetError(
                .corrupt,
                "\(paths[1]): label \(index) is \(labels.elements[index]), but \(source.name) has "
                    + "\(source.classNames.count) classes (0 to \(source.classNames.count - 1))",
                path: paths[1]
            )
        }
        return try Dataset(
            name: source.name,
            split: split,
            exampleShape: [1, images.shape[1], images.shape[2]],
            classNames: source.classNames,
            pixelBytes: images.elements,
            labels: labels.elements.map { Int($0) }
        )
    }

    private func loadCIFAR10(_ source: DatasetSource, split: Dataset.Split) throws(DatasetError) -> Dataset {
        let records = try CIFAR10Records(contentsOf: try source.resolvedFiles(for: split), limits: limits)
        return try Dataset(
            name: source.name,
            split: split,
            exampleShape: CIFAR10Records.exampleShape,
            classNames: source.classNames,
            pixelBytes: records.images,
            labels: records.labels.map { Int($0) }
        )
    }

    /// Checks that an IDX image file's shape (N, H, W) and its label file's shape (N) go together and
    /// that N is within the limits; returns N.
    private func checkIDXShapes(
        images: [Int],
        labels: [Int],
        paths: [String],
        source: DatasetSource
    ) throws(DatasetError) -> Int {
        guard images.count == 3, images[1] > 0, images[2] > 0 else {
            throw DatasetError(
                .corrupt,
                "\(paths[0]) has shape \(images); \(source.name)'s image files hold (examples, height, width)",
                path: paths[0]
            )
        }
        guard labels.count == 1 else {
            throw DatasetError(
                .corrupt,
                "\(paths[1]) has shape \(labels); \(source.name)'s label files hold one label per example",
                path: paths[1]
            )
        }
        guard images[0] == labels[0] else {
            throw DatasetError(
                .corrupt,
                "\(paths[0]) holds \(images[0]) images but \(paths[1]) holds \(labels[0]) labels; the files do "
                    + "not belong together",
                path: paths[0]
            )
        }
        guard images[0] <= limits.maximumExamples else {
            throw DatasetError(
                .tooLarge,
                "\(paths[0]) holds \(images[0]) examples, more than the limit of \(limits.maximumExamples) "
                    + "(DatasetLimits.maximumExamples)",
                path: paths[0]
            )
        }
        return images[0]
    }

    /// The entry for `source`, from its files' headers when they are all there.
    private func info(for source: DatasetSource) -> DatasetInfo {
        var info = DatasetInfo(
            name: source.name,
            description: source.description,
            exampleShape: source.exampleShape,
            classNames: source.classNames,
            trainExamples: source.trainExamples,
            testExamples: source.testExamples,
            available: true,
            unavailableReason: nil,
            installHint: ""
        )
        do throws(DatasetError) {
            var sizes: [Dataset.Split: Int] = [:]
            for split in Dataset.Split.allCases {
                let paths = try source.resolvedFiles(for: split)
                switch source.format {
                case .idx:
                    let images = try IDXArray.shape(ofContentsOf: paths[0], limits: limits)
                    let labels = try IDXArray.shape(ofContentsOf: paths[1], limits: limits)
                    sizes[split] = try checkIDXShapes(images: images, labels: labels, paths: paths, source: source)
                    let shape = [1, images[1], images[2]]
                    guard split == .train || shape == info.exampleShape else {
                        throw DatasetError(
                            .corrupt,
                            "\(paths[0]) holds images of shape \(shape) but the training images are "
                                + "\(info.exampleShape); the files do not belong together",
                            path: paths[0]
                        )
                    }
                    info.exampleShape = shape
                case .cifar10Binary:
                    sizes[split] = try cifar10Count(paths)
                }
            }
            info.trainExamples = sizes[.train] ?? 0
            info.testExamples = sizes[.test] ?? 0
        } catch {
            info.available = false
            info.unavailableReason = error.message
            info.installHint = source.installHint
        }
        return info
    }

    /// The records in CIFAR-10 binary files, from their sizes.
    private func cifar10Count(_ paths: [String]) throws(DatasetError) -> Int {
        var count = 0
        for path in paths {
            let size = try InputFile(path: path).size()
            guard size % CIFAR10Records.recordBytes == 0 else {
                throw DatasetError(
                    .truncated,
                    "\(path) holds \(size) bytes, not a whole number of \(CIFAR10Records.recordBytes)-byte "
                        + "CIFAR-10 records",
                    path: path
                )
            }
            count += size / CIFAR10Records.recordBytes
        }
        return count
    }
}
