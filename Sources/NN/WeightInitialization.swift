import Foundation
import TensorEngine

/// How a convolution or linear layer draws its initial weights. `fanIn` is inputs × kernel area.
public enum WeightInitialization: Sendable, Hashable {
    /// He et al. 2015 ("Delving Deep into Rectifiers", arXiv:1502.01852): weights from
    /// N(0, 2/fanIn), biases zero. Suited to layers followed by ReLU.
    case kaimingNormal
    /// PyTorch's default for `nn.Linear` and `nn.Conv2d`: weights and biases from U(±1/√fanIn).
    case uniformFanIn

    /// Draws a weight tensor of `shape` with the given fan-in.
    func weight(_ shape: [Int], fanIn: Int, using rng: inout RandomGenerator) -> Tensor {
        switch self {
        case .kaimingNormal:
            return Tensor.normal(shape, standardDeviation: Float((2.0 / Double(fanIn)).squareRoot()), using: &rng)
        case .uniformFanIn:
            let bound = Float(1 / Double(fanIn).squareRoot())
            return Tensor.uniform(shape, low: -bound, high: bound, using: &rng)
        }
    }

    /// Draws a bias vector of `count` entries with the given fan-in.
    func bias(_ count: Int, fanIn: Int, using rng: inout RandomGenerator) -> Tensor {
        switch self {
        case .kaimingNormal:
            return Tensor(zeros: [count])
        case .uniformFanIn:
            let bound = Float(1 / Double(fanIn).squareRoot())
            return Tensor.uniform([count], low: -bound, high: bound, using: &rng)
        }
    }
}
