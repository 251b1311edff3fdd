/// The engine's compute kernels: the only code that touches raw pointers and BLAS.
///
/// Kernels work on dense row-major `[Float]` buffers with explicit shapes; they know nothing of
/// the tape. Each fast kernel has a naive loop-nest twin in `TensorEngineTestSupport` that tests
/// and the benchmark use as the oracle. Shape letters: N batch, C channels, H/W height and width,
/// K output channels, R/S kernel height and width.
public enum Kernels {}
