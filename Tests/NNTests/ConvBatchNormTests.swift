import NN
import TensorEngine
import TensorEngineTestSupport
import Testing

@Suite("Batch norm folded into convolutions in evaluation mode")
struct ConvBatchNormTests {
    /// A block with non-trivial running statistics and affine parameters.
    func makeBlock(stride: Int, inChannels: Int, outChannels: Int) -> BasicBlock {
        var rng = RandomGenerator(seed: 5)
        let block = BasicBlock(inChannels: inChannels, outChannels: outChannels, stride: stride, rng: &rng)
        var norms = [block.bn1, block.bn2]
        if let shortcut = block.shortcut, let bn = shortcut.layers.last?.layer as? BatchNorm2D { norms.append(bn) }
        for bn in norms {
            let c = bn.channels
            bn.runningMean.value = Tensor.normal([c], standardDeviation: 0.3, using: &rng)
            bn.runningVariance.value = Tensor.uniform([c], low: 0.5, high: 2, using: &rng)
            bn.weight.value = Tensor.uniform([c], low: 0.5, high: 1.5, using: &rng)
            bn.bias.value = Tensor.normal([c], standardDeviation: 0.2, using: &rng)
        }
        return block
    }

    /// The unfolded evaluation: each batch norm applied after its convolution.
    func unfolded(_ block: BasicBlock, _ x: Tensor) -> Tensor {
        let context = ForwardContext(isTraining: false)
        let h = relu(block.bn1(block.conv1(x, context: context), context: context))
        let residual = block.bn2(block.conv2(h, context: context), context: context)
        let skip = block.shortcut.map { $0(x, context: context) } ?? x
        return relu(residual + skip)
    }

    @Test(arguments: [(1, 4, 4), (2, 4, 8)])
    func foldedEqualsUnfolded(_ c: (Int, Int, Int)) {
        let block = makeBlock(stride: c.0, inChannels: c.1, outChannels: c.2)
        var rng = RandomGenerator(seed: 6)
        let x = Tensor.uniform([3, c.1, 8, 8], using: &rng)
        let folded = withoutGradients { block(x, context: ForwardContext(isTraining: false)) }
        let reference = withoutGradients { unfolded(block, x) }
        #expect(Tolerance.allClose(folded.scalars, reference.scalars, rtol: 1e-4, atol: 1e-5))

        // Input gradients agree too (what attacks use), and so do weight gradients.
        let tx = x.tracked()
        let w = block.conv1.weight.value
        let projection = Tensor.normal(folded.shape, using: &rng)
        let gFolded = gradient(
            of: (block(tx, context: ForwardContext(isTraining: false)) * projection).sum(),
            wrt: [tx, w]
        )
        let gReference = gradient(of: (unfolded(block, tx) * projection).sum(), wrt: [tx, w])
        #expect(Tolerance.allClose(gFolded[0].scalars, gReference[0].scalars, rtol: 1e-3, atol: 1e-4))
        #expect(Tolerance.allClose(gFolded[1].scalars, gReference[1].scalars, rtol: 1e-3, atol: 1e-4))
    }
}
