extension Tensor {
    /// Records `output`, computed by a fast fused kernel, as an op whose derivatives are those of
    /// `reference`: a composition of differentiable ops that computes the same function of `inputs`.
    ///
    /// The VJP differentiates the reference afresh (with the needed inputs as cut points, so the
    /// results are partial derivatives), recording when the surrounding backward pass records. The
    /// forward pass pays only for the kernel; the derivatives stay exact to every order.
    ///
    /// With `fastVJP`, a backward pass that does not record (the last order of differentiation, whose
    /// results are constants) takes that instead: kernels computing the same derivatives as the
    /// reference's. A recording backward pass still differentiates the reference.
    static func recordFused(
        _ name: String,
        _ output: Tensor,
        inputs: [Tensor],
        reference: @escaping @Sendable ([Tensor]) -> Tensor,
        fastVJP: (@Sendable (_ g: Tensor, _ needed: [Bool]) -> [Tensor?])? = nil
    ) -> Tensor {
        record(name, output, inputs: inputs) { g, _, needed in
            if let fastVJP, !GradientMode.isEnabled { return fastVJP(g, needed) }
            return referenceVJP(name, inputs: inputs, reference: reference, g, needed)
        }
    }

    /// The VJP of `reference` at `inputs` with upstream `g`, for the needed inputs.
    private static func referenceVJP(
        _ name: String,
        inputs: [Tensor],
        reference: ([Tensor]) -> Tensor,
        _ g: Tensor,
        _ needed: [Bool]
    ) -> [Tensor?] {
        let createGraph = GradientMode.isEnabled
        return GradientMode.with(recording: true) {
            let args = inputs.indices.map { needed[$0] ? inputs[$0] : inputs[$0].detached }
            let wanted = inputs.indices.filter { needed[$0] }
            let y = reference(args)
            precondition(y.shape == g.shape, "\(name): reference gives \(y.shape), gradient is \(g.shape)")
            let grads = backpropagate(
                y,
                wrt: wanted.map { args[$0] },
                seed: g,
                createGraph: createGraph,
                partial: true
            )
            var result = [Tensor?](repeating: nil, count: inputs.count)
            for (k, i) in wanted.enumerated() { result[i] = createGraph ? grads[k] : grads[k].detached }
            return result
        }
    }
}
