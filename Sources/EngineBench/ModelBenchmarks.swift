import TensorEngine

/// Whole-model figures; filled in once NN's ResNet-20 exists.
func benchmarkModels(batch: Int, into report: inout BenchmarkReport) {}
