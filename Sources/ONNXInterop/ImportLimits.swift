/// Hard limits checked before anything is allocated, so a hostile file cannot exhaust memory.
public struct ImportLimits: Sendable {
    /// The largest model file, in bytes.
    public var maximumFileBytes: Int = 512 << 20
    /// The most nodes in the main graph.
    public var maximumNodes: Int = 100_000
    /// The most elements in any one tensor (initializer, constant, or computed value).
    public var maximumTensorElements: Int = 1 << 28
    /// The deepest nesting of subgraphs accepted.
    public var maximumGraphDepth: Int = 4

    public init() {}

    /// The defaults: 512 MiB files, 100 000 nodes, 2²⁸ elements per tensor, subgraph depth 4.
    public static let `default` = ImportLimits()
}
