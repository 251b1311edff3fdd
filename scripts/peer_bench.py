#!/usr/bin/env python3
"""Peer figures for `make bench`: onnxruntime on the same ResNet-20 that EngineBench times.

Builds ResNet-20 (width 16, 1x28x28 input, 10 classes; batch norm folded into the convolutions, as
an inference runtime would see it) as an ONNX graph with seeded random weights, and times
onnxruntime's CPU forward pass at the given batch with the given thread count. Writes a JSON list
of rows that EngineBench folds into docs/benchmarks/engine.md. Runs from the project venv
(scripts/bootstrap --python); never at rkd's run time.
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def resnet20(width=16, channels=1, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def conv(x, cin, cout, k, stride):
        w = name("w")
        b = name("b")
        fan_in = cin * k * k
        inits.append(helper.make_tensor(w, TensorProto.FLOAT, [cout, cin, k, k],
                                        (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2 / fan_in)).astype(np.float32).ravel()))
        inits.append(helper.make_tensor(b, TensorProto.FLOAT, [cout], (rng.standard_normal(cout) * 0.1).astype(np.float32)))
        y = name("conv")
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k], strides=[stride, stride], pads=[p, p, p, p]))
        return y

    def relu(x):
        y = name("relu")
        nodes.append(helper.make_node("Relu", [x], [y]))
        return y

    h = relu(conv("input", channels, width, 3, 1))
    cin = width
    for stage in range(3):
        cout = width << stage
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            r = relu(conv(h, cin, cout, 3, stride))
            r = conv(r, cout, cout, 3, 1)
            skip = conv(h, cin, cout, 1, stride) if (stride != 1 or cin != cout) else h
            s = name("add")
            nodes.append(helper.make_node("Add", [r, skip], [s]))
            h = relu(s)
            cin = cout
    pooled = name("pool")
    nodes.append(helper.make_node("GlobalAveragePool", [h], [pooled]))
    flat = name("flat")
    nodes.append(helper.make_node("Flatten", [pooled], [flat], axis=1))
    inits.append(helper.make_tensor("fc_w", TensorProto.FLOAT, [cin, classes], rng.standard_normal((cin, classes)).astype(np.float32).ravel() * 0.1))
    inits.append(helper.make_tensor("fc_b", TensorProto.FLOAT, [classes], np.zeros(classes, np.float32)))
    nodes.append(helper.make_node("Gemm", [flat, "fc_w", "fc_b"], ["logits"]))
    graph = helper.make_graph(
        nodes, "resnet20",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", channels, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--output", required=True, help="JSON file for EngineBench --peers")
    args = parser.parse_args()

    model = resnet20()
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((args.batch, 1, 28, 28), dtype=np.float32)
    session.run(None, {"input": x})
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < args.seconds:
        t0 = time.perf_counter()
        session.run(None, {"input": x})
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    row = {
        "name": f"onnxruntime {ort.__version__} forward (batch norm folded), {args.threads} threads",
        "batch": args.batch,
        "medianMilliseconds": median * 1e3,
        "imagesPerSecond": args.batch / median,
        "runs": len(times),
    }
    with open(args.output, "w") as f:
        json.dump([row], f, indent=2)
    print(f"{row['name']}: {row['imagesPerSecond']:.0f} images/s")


if __name__ == "__main__":
    main()
