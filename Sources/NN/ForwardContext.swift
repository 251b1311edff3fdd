import TensorEngine

/// The mode of one forward pass, and the feature maps it was asked to keep.
///
/// `isTraining` switches layers whose behaviour differs between training and inference (batch
/// norm uses batch statistics and updates its running averages). A caller that needs
/// intermediate feature maps (feature distillation, Jacobian losses) lists their names in
/// `requestedTaps`; the model records each requested map into `taps` as it passes it. The maps
/// are the live tensors of the pass, tracked when the pass is recorded, so losses on them can be
/// differentiated. A context belongs to one pass: make a new one for each.
public final class ForwardContext {
    /// Whether this is a training pass.
    public let isTraining: Bool
    /// The tap names the caller wants recorded.
    public let requestedTaps: Set<String>
    /// The recorded feature maps, by tap name.
    public private(set) var taps: [String: Tensor] = [:]

    /// Creates a context for one pass.
    public init(isTraining: Bool = false, requestedTaps: Set<String> = []) {
        self.isTraining = isTraining
        self.requestedTaps = requestedTaps
    }

    /// Whether the caller asked for the tap `name`.
    public func wants(_ name: String) -> Bool { requestedTaps.contains(name) }

    /// Whether every requested tap has been recorded (a pass that only wants the taps may stop).
    public var hasEveryRequestedTap: Bool { taps.count == requestedTaps.count }

    /// Records `value` under `name` if it was requested; otherwise does nothing.
    public func record(_ name: String, _ value: Tensor) {
        if requestedTaps.contains(name) { taps[name] = value }
    }
}
