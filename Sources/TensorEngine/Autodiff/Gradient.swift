/// Reverse-mode differentiation over the runtime tape.
///
/// Returns `∂y/∂x` for each `x` in `wrt`, where `y` is a scalar (or, with `seed`, the
/// vector–Jacobian product `seedᵀ ∂y/∂x`). Only the part of the tape that lies between `y` and the
/// requested tensors is walked: asking for input gradients does not compute weight gradients.
///
/// With `createGraph: true` the backward pass is itself recorded, so the returned gradients are
/// tracked and can be differentiated again (double back-propagation, as for input-gradient
/// penalties). With `false` (the default) nothing is recorded and the results are constants.
///
/// - Precondition: every tensor in `wrt` is tracked; `y` is a scalar unless `seed` is given, in
///   which case `seed.shape == y.shape`.
public func gradient(
    of y: Tensor,
    wrt xs: [Tensor],
    seed: Tensor? = nil,
    createGraph: Bool = false
) -> [Tensor] {
    backpropagate(y, wrt: xs, seed: seed, createGraph: createGraph, partial: false)
}

/// The walk behind `gradient(of:wrt:)`. With `partial`, the targets are cut points: nothing below a
/// target is visited, so each result is the partial derivative holding the other targets fixed (what
/// a VJP must return even when one target depends on another).
func backpropagate(
    _ y: Tensor,
    wrt xs: [Tensor],
    seed: Tensor?,
    createGraph: Bool,
    partial: Bool
) -> [Tensor] {
    precondition(seed != nil || y.count == 1, "gradient(of:): y has shape \(y.shape); pass a seed for non-scalars")
    if let seed { precondition(seed.shape == y.shape, "gradient(of:): seed \(seed.shape) for y \(y.shape)") }
    let targets = xs.map { x -> ObjectIdentifier in
        guard let node = x.node else {
            preconditionFailure("gradient(of:wrt:): a wrt tensor \(x.shape) is not tracked")
        }
        return ObjectIdentifier(node)
    }
    let zeroGradients = xs.map { Tensor(zeros: $0.shape) }
    guard let root = y.node else { return zeroGradients }

    // Topological order of the nodes that lie on a path from y to a target.
    let targetSet = Set(targets)
    var reaches: [ObjectIdentifier: Bool] = [:]
    var order: [GradNode] = []  // post-order: inputs before users
    var propagates: Set<ObjectIdentifier> = []  // nodes with a target strictly below them
    var stack: [(GradNode, Int)] = [(root, 0)]
    var visiting: Set<ObjectIdentifier> = [ObjectIdentifier(root)]
    while let (node, next) = stack.popLast() {
        if next < node.inputs.count && !(partial && targetSet.contains(ObjectIdentifier(node))) {
            stack.append((node, next + 1))
            if let child = node.inputs[next].node {
                let id = ObjectIdentifier(child)
                if reaches[id] == nil && !visiting.contains(id) {
                    visiting.insert(id)
                    stack.append((child, 0))
                }
            }
        } else {
            let id = ObjectIdentifier(node)
            var below = false
            for input in node.inputs {
                if let child = input.node, reaches[ObjectIdentifier(child)] == true { below = true }
            }
            reaches[id] = below || targetSet.contains(id)
            if below { propagates.insert(id) }
            order.append(node)
        }
    }

    var grads: [ObjectIdentifier: Tensor] = [:]
    GradientMode.with(recording: createGraph) {
        grads[ObjectIdentifier(root)] = seed ?? Tensor(repeating: 1, shape: y.shape)
        for node in order.reversed() {
            let id = ObjectIdentifier(node)
            // A target's own gradient is final; walk below it only if another target lies there.
            guard propagates.contains(id), let vjp = node.vjp, let upstream = grads[id] else { continue }
            if !targetSet.contains(id) { grads[id] = nil }  // free as we go
            let output = Tensor(shape: node.shape, scalars: node.output, node: createGraph ? node : nil)
            let needed = node.inputs.map { input in input.node.map { reaches[ObjectIdentifier($0)] == true } ?? false }
            let inputGrads = vjp(upstream, output, needed)
            precondition(
                inputGrads.count == node.inputs.count,
                "\(node.name): VJP returned \(inputGrads.count) gradients"
            )
            for (input, g) in zip(node.inputs, inputGrads) {
                guard let child = input.node, let g, reaches[ObjectIdentifier(child)] == true else { continue }
                precondition(g.shape == input.shape, "\(node.name): VJP gave \(g.shape) for input \(input.shape)")
                let cid = ObjectIdentifier(child)
                if let existing = grads[cid] { grads[cid] = existing + g } else { grads[cid] = g }
            }
        }
    }
    return zip(targets, zeroGradients).map { id, zero in grads[id] ?? zero }
}

/// The gradient of a scalar function at `x`, with the value: a convenience for tests and attacks.
public func valueWithGradient(at x: Tensor, _ f: (Tensor) -> Tensor) -> (value: Tensor, gradient: Tensor) {
    let tx = x.tracked()
    let y = f(tx)
    let g = gradient(of: y, wrt: [tx])[0]
    return (y.detached, g)
}
