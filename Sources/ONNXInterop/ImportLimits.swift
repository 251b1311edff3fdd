/// Hard limits checked before anything is allocated, so a hostile file cannot exhaust memory, the
/// stack or the CPU.
public struct ImportLimits: Sendable {
    /// The largest model file, in bytes.
    public var maximumFileBytes: Int = 512 << 20
    /// The most nodes in the model: the main graph, every subgraph and every local function together.
    public var maximumNodes: Int = 100_000
    /// The most protobuf messages in the file (nodes, attributes, tensors, value infos, shape
    /// dimensions, …), counted on the raw bytes before decoding. Decoding allocates up to about
    /// 500 bytes per message however small it is on disk, so the file size alone does not bound
    /// memory: 8 MB of empty attributes decode into 2 GiB. A 100 000-node model with a few
    /// attributes and a shaped value_info per node holds about 1.5 million.
    public var maximumMessages: Int = 2_000_000
    /// The most elements in any one tensor (initializer, constant, or computed value).
    public var maximumTensorElements: Int = 1 << 28
    /// The most elements declared by all initializers and Constant node values together. One
    /// element becomes 4 bytes (float) or 8 (integer) once decoded, whatever its size in the file,
    /// so this caps what decoding can allocate, not only what the file holds.
    public var maximumInitializerElements: Int = 1 << 28
    /// The most axes of any tensor. ONNX sets no limit; rkd's classifiers use four or five, and
    /// some shape code is quadratic in the rank, so a rank of a million would stall it.
    public var maximumRank: Int = 32
    /// The deepest nesting of subgraphs (If/Loop/Scan bodies, any GRAPH or GRAPHS attribute)
    /// accepted; the main graph is depth 0.
    public var maximumGraphDepth: Int = 4
    /// The most nodes on one path from the graph's inputs to an output. A run that records
    /// gradients keeps one tape node per graph node on that path (TensorEngine releases such a
    /// tape iteratively, so depth costs memory, not stack). Real classifiers are a few hundred to
    /// a few thousand nodes deep.
    public var maximumChainLength: Int = 100_000

    public init() {}

    /// The defaults: 512 MiB files, 100 000 nodes, 2 000 000 messages, 2²⁸ elements per tensor and
    /// over all initializers, rank 32, subgraph depth 4, chains as long as the node limit (100 000 nodes).
    public static let `default` = ImportLimits()
}

extension ImportLimits {
    /// Whether a value of `shape` may be allocated: no negative extent, at most `maximumRank`
    /// axes, and the product of the non-zero extents within `maximumTensorElements`, computed
    /// without overflow. Counting the non-zero extents keeps an empty tensor such as [0, 2⁶², 2⁶²]
    /// out too, whose strides would overflow. Returns the element count, or a sentence saying
    /// what is wrong (for an `ONNXError` message).
    func admit(_ shape: [Int]) -> Result<Int, ShapeRefusal> {
        guard shape.count <= maximumRank else {
            return .failure(
                ShapeRefusal(code: .limitExceeded, reason: "has \(shape.count) axes, over the limit of \(maximumRank)")
            )
        }
        var extent = 1
        for d in shape {
            guard d >= 0 else { return .failure(ShapeRefusal(code: .invalidGraph, reason: "has a negative dimension")) }
            let (product, overflow) = extent.multipliedReportingOverflow(by: max(d, 1))
            guard !overflow, product <= maximumTensorElements else {
                return .failure(
                    ShapeRefusal(
                        code: .limitExceeded,
                        reason: "is over the limit of \(maximumTensorElements) elements "
                            + "(raise ImportLimits.maximumTensorElements if it is genuine)"
                    )
                )
            }
            extent = product
        }
        return .success(shape.contains(0) ? 0 : extent)
    }

    /// The element count of `shape`, or an `ONNXError` naming `what` ("tensor 'w'", "the output of
    /// ConstantOfShape") when `admit` refuses it.
    func checkedCount(_ shape: [Int], _ what: String, node: String? = nil) throws -> Int {
        switch admit(shape) {
        case .success(let count): return count
        case .failure(let refusal):
            throw ONNXError(refusal.code, "\(what) of shape \(shape) \(refusal.reason)", node: node)
        }
    }
}

/// Why `ImportLimits.admit` refused a shape.
struct ShapeRefusal: Error {
    let code: ONNXError.Code
    let reason: String
}
