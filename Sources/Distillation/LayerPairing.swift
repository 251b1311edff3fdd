import NN
import TensorEngine

/// Pairs teacher and student feature maps by spatial resolution (METHOD.md): each resolution stage of
/// the teacher (the last 4-D map at that resolution, in the order the model computes them; 1×1 maps,
/// the pooled features, are not stages) with the student's last 4-D map of the same resolution, or,
/// when the student has none, its last map whose size is a whole multiple or divisor of the teacher's
/// (pooled to the smaller). Explicit pairs replace the search.
public enum LayerPairing {
    /// A feature map's name and one example's shape (C, H, W).
    public struct Map: Hashable, Sendable {
        public var name: String
        public var shape: [Int]
        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }
    }

    /// One pair: teacher map, student map.
    public struct Pair: Hashable, Sendable {
        public var teacher: Map
        public var student: Map
    }

    /// What cannot be paired.
    public struct PairingError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The 4-D maps of a model's taps, by running one example of its input shape with every tap
    /// requested, in the order the taps are listed.
    public static func maps(of model: any Classifier) -> [Map] {
        let context = ForwardContext(isTraining: false, requestedTaps: Set(model.featureTapNames))
        _ = withoutGradients { model.logits(Tensor(zeros: [1] + model.inputShape), context: context) }
        return model.featureTapNames.compactMap { name in
            guard let t = context.taps[name], t.rank == 4 else { return nil }
            return Map(name: name, shape: Array(t.shape.dropFirst()))
        }
    }

    /// The resolution stages of `maps`: for each spatial size above 1×1, the last map of that size.
    public static func stages(_ maps: [Map]) -> [Map] {
        var last: [[Int]: Map] = [:]
        var order: [[Int]] = []
        for map in maps where map.shape[1] * map.shape[2] > 1 {
            let size = Array(map.shape[1...2])
            if last[size] == nil { order.append(size) }
            last[size] = map
        }
        return order.compactMap { last[$0] }
    }

    /// Pairs each teacher stage with a student map (see the type's description). Stages with no
    /// student map of a compatible size are left out.
    /// - Throws: ``PairingError`` when no stage can be paired.
    public static func automatic(teacher: [Map], student: [Map]) throws -> [Pair] {
        var pairs: [Pair] = []
        for stage in stages(teacher) {
            let (h, w) = (stage.shape[1], stage.shape[2])
            let exact = student.last { $0.shape[1] == h && $0.shape[2] == w }
            // Else the nearest size that pools onto the teacher's or the other way (the deeper on a tie).
            func ratio(_ map: Map) -> Int? {
                let (sh, sw) = (map.shape[1], map.shape[2])
                guard sh * sw > 1 else { return nil }
                if sh % h == 0 && sw % w == 0 && sh / h == sw / w { return sh / h }
                if h % sh == 0 && w % sw == 0 && h / sh == w / sw { return h / sh }
                return nil
            }
            var compatible: Map?
            var best = Int.max
            for map in student {
                if let r = ratio(map), r <= best {
                    best = r
                    compatible = map
                }
            }
            if let match = exact ?? compatible {
                pairs.append(Pair(teacher: stage, student: match))
            }
        }
        guard !pairs.isEmpty else {
            throw PairingError(
                description: "no student feature map fits a teacher stage (teacher stages "
                    + stages(teacher).map { "\($0.name) \($0.shape)" }.joined(separator: ", ")
                    + "); name pairs explicitly (--pair teacherTensor=studentTensor)"
            )
        }
        return pairs
    }

    /// Explicit pairs by name.
    /// - Throws: ``PairingError`` naming a map that does not exist or sizes that cannot be pooled together.
    public static func explicit(
        _ names: [(teacher: String, student: String)],
        teacher: [Map],
        student: [Map]
    ) throws
        -> [Pair]
    {
        try names.map { pair in
            guard let t = teacher.first(where: { $0.name == pair.teacher }) else {
                throw PairingError(
                    description: "the teacher has no 4-D feature map '\(pair.teacher)'; it has "
                        + teacher.map(\.name).prefix(40).joined(separator: ", ")
                )
            }
            guard let s = student.first(where: { $0.name == pair.student }) else {
                throw PairingError(
                    description: "the model has no 4-D feature map '\(pair.student)'; it has "
                        + student.map(\.name).prefix(40).joined(separator: ", ")
                )
            }
            for axis in 1...2 where max(t.shape[axis], s.shape[axis]) % min(t.shape[axis], s.shape[axis]) != 0 {
                throw PairingError(
                    description: "'\(pair.teacher)' \(t.shape) and '\(pair.student)' \(s.shape): one spatial size must "
                        + "be a whole multiple of the other"
                )
            }
            return Pair(teacher: t, student: s)
        }
    }

    /// The feature pairs for Robust-KD, with one adapter per pair (named `adapters.<i>`).
    public static func featurePairs(_ pairs: [Pair], seed: UInt64) -> [FeaturePair] {
        pairs.enumerated().map { index, pair in
            FeaturePair(
                teacherTap: pair.teacher.name,
                studentTap: pair.student.name,
                adapter: FeatureAdapter(
                    name: "adapters.\(index)",
                    student: pair.student.shape,
                    teacher: pair.teacher.shape,
                    seed: seed &+ UInt64(index)
                )
            )
        }
    }
}
