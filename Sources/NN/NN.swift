// Layers, models, losses and optimizers over TensorEngine.
