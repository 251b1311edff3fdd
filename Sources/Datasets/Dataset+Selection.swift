extension Dataset {
    /// The examples a job asks for: those of the given classes, then one half of them. Examples keep
    /// their order in the split, and their labels keep their original class ids.
    /// - Parameters:
    ///   - classes: class ids to keep; empty keeps all classes.
    ///   - half: the half to keep; nil keeps all the selected examples.
    /// - Throws: as `restricted(toClasses:)`.
    public func selecting(classes: [Int] = [], half: Half? = nil) throws(DatasetError) -> Dataset {
        let restricted = classes.isEmpty ? self : try restricted(toClasses: classes)
        guard let half else { return restricted }
        return restricted.half(half)
    }

    /// The examples whose label is one of `classes`, in their order in this data set.
    ///
    /// Labels are **not** renumbered: an example of class 7 still has label 7 and `classNames` is
    /// unchanged, so a classifier trained on all classes scores the subset as it is, and reports name
    /// the classes the model knows. Code that trains a k-way model on the subset maps the ids itself.
    /// - Throws: `.invalidArgument` for a class id that is not one of `classNames`' indices, or one listed twice.
    public func restricted(toClasses classes: [Int]) throws(DatasetError) -> Dataset {
        var wanted = [Bool](repeating: false, count: classNames.count)
        for id in classes {
            guard classNames.indices.contains(id) else {
                throw DatasetError(
                    .invalidArgument,
                    "\(name) has no class \(id): its \(classNames.count) classes are 0 (\(classNames[0])) to "
                        + "\(classNames.count - 1) (\(classNames[classNames.count - 1]))"
                )
            }
            guard !wanted[id] else {
                throw DatasetError(.invalidArgument, "class \(id) (\(classNames[id])) is listed twice")
            }
            wanted[id] = true
        }
        return gathering(labels.indices.filter { wanted[labels[$0]] })
    }

    /// The first ⌊n/2⌋ examples, or the other n − ⌊n/2⌋, in this data set's order.
    ///
    /// Applied after a class subset (as `selecting(classes:half:)` does), the halves are of that subset.
    /// The halves are contiguous, not interleaved: in a split stored in random order (as Fashion-MNIST's
    /// and CIFAR-10's are) each half has close to half of every class.
    public func half(_ half: Half) -> Dataset {
        let middle = count / 2
        return gathering(half == .first ? Array(0..<middle) : Array(middle..<count))
    }

    /// The first `count` examples (all of them when there are fewer).
    public func prefix(_ count: Int) -> Dataset {
        gathering(Array(0..<min(max(count, 0), self.count)))
    }

    /// The examples in the order of `SeededPermutation.indices(count:seed:)`: the same seed gives the
    /// same order every time.
    public func shuffled(seed: UInt64) -> Dataset {
        gathering(SeededPermutation.indices(count: count, seed: seed))
    }

    /// The examples at the given positions of this data set, in that order (repeats allowed).
    /// - Throws: `.invalidArgument` for a position outside 0..<count.
    public func examples(at positions: [Int]) throws(DatasetError) -> Dataset {
        if let bad = positions.first(where: { !labels.indices.contains($0) }) {
            throw DatasetError(
                .invalidArgument,
                "position \(bad) is outside \(name)'s \(count) examples (0 to \(count - 1))"
            )
        }
        return gathering(positions)
    }

    /// The examples at `positions`, which the caller has checked.
    func gathering(_ positions: [Int]) -> Dataset {
        Dataset(
            unchecked: name,
            split: split,
            exampleShape: exampleShape,
            classNames: classNames,
            images: gatheredImages(positions),
            labels: positions.map { labels[$0] },
            sourceIndices: positions.map { sourceIndices[$0] }
        )
    }

    /// The pixels of the examples at `positions`, (positions.count, C, H, W).
    func gatheredImages(_ positions: some Collection<Int>) -> [Float] {
        let size = exampleSize
        return [Float](unsafeUninitializedCapacity: positions.count * size) { buffer, initialized in
            images.withUnsafeBufferPointer { source in
                var offset = 0
                for position in positions {
                    let from = position * size
                    for element in 0..<size { buffer[offset + element] = source[from + element] }
                    offset += size
                }
            }
            initialized = positions.count * size
        }
    }
}

extension Dataset {
    /// The same examples as a k-way task: every label mapped by `map` into `0..<names.count`, which
    /// become the class names. Used to train a model on a class subset (labels 3, 7 → 0, 1).
    /// - Precondition: `map` sends every label of this data set into `0..<names.count`.
    public func relabelled(names: [String], _ map: (Int) -> Int) -> Dataset {
        let mapped = labels.map(map)
        precondition(mapped.allSatisfy { names.indices.contains($0) }, "relabelled: a label outside the new classes")
        return Dataset(
            unchecked: name,
            split: split,
            exampleShape: exampleShape,
            classNames: names,
            images: images,
            labels: mapped,
            sourceIndices: sourceIndices
        )
    }
}

extension Dataset {
    /// The examples of a class selection as a model with one output per selected class sees them.
    ///
    /// A model trained on a subset of the classes (a 5-way teacher on classes 5–9, say) numbers them
    /// 0..<k in the order they were selected, as teacher training does. When the model has exactly
    /// `classes.count` outputs and that is fewer than the data set's classes, the labels are renumbered
    /// that way (7 → 2 for classes 5,6,7,8,9) and the class names become the selected ones; otherwise
    /// (no selection, or a model that knows every class) the examples are returned unchanged, with
    /// their original label ids.
    /// - Precondition: every label is one of `classes` when they are renumbered (a `selecting` result).
    public func numbered(forSelection classes: [Int], outputs: Int) -> Dataset {
        guard let position = Self.numbering(of: classes, outputs: outputs, classCount: classNames.count) else {
            return self
        }
        return relabelled(names: classes.map { classNames[$0] }) { label in
            guard let index = position[label] else { preconditionFailure("numbered: label \(label) is not selected") }
            return index
        }
    }

    /// The rule of `numbered(forSelection:outputs:)`: each selected class id's new label, or nil when
    /// labels keep their ids (no selection, or a model with another number of outputs than the
    /// selection, or a selection of every one of the data set's `classCount` classes).
    public static func numbering(of classes: [Int], outputs: Int, classCount: Int) -> [Int: Int]? {
        guard !classes.isEmpty, outputs == classes.count, classes.count < classCount else { return nil }
        return Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    }
}
