#!/usr/bin/env python3
"""Writes hand-made hostile ONNX models into a directory, one file per attack on the importer, for
Tests/DaemonCoreTests/HostileRequestTests.swift (which sends each through the running rkdd). Uses the
onnx package of the project venv (scripts/bootstrap --python); the models are built, not checked.

    .venv/bin/python scripts/hostile_models.py OUTPUT_DIR
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def value(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, initializers=(), opset=13, ir=8):
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def cases():
    x = [value("x", [1, 3, 8, 8])]
    y = [value("y", None)]
    w = numpy_helper.from_array(np.ones([2, 3, 3, 3], np.float32), "w")
    yield "huge_declared_input", model([helper.make_node("Relu", ["x"], ["y"])], [value("x", [1 << 40, 1 << 40])], y)
    yield "negative_dims", model([helper.make_node("Relu", ["x"], ["y"])], [value("x", [-5, 3])], y)
    yield "cycle", model([helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])], x,
                         [value("a", None)])
    yield "self_loop", model([helper.make_node("Add", ["x", "y"], ["y"])], x, y)
    yield "reshape_overflow", model([helper.make_node("Reshape", ["x", "s"], ["y"])], x, y,
                                    [ints("s", [1 << 62, 1 << 62])])
    yield "expand_huge", model([helper.make_node("Expand", ["x", "s"], ["y"])], x, y,
                               [ints("s", [1 << 20, 3, 1 << 20, 8])])
    yield "constant_of_shape_huge", model([helper.make_node("ConstantOfShape", ["s"], ["y"])], x, y,
                                          [ints("s", [1 << 30, 1 << 30])])
    yield "conv_zero_stride", model([helper.make_node("Conv", ["x", "w"], ["y"], strides=[0, 0])], x, y, [w])
    yield "conv_huge_kernel", model([helper.make_node("Conv", ["x", "w"], ["y"], dilations=[1 << 30, 1 << 30])],
                                    x, y, [w])
    yield "conv_wrong_channels", model([helper.make_node("Conv", ["x", "w"], ["y"])], [value("x", [1, 5, 8, 8])], y,
                                       [w])
    yield "maxpool_huge_pads", model([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2],
                                                       pads=[1 << 40, 0, 0, 0])], x, y)
    yield "gather_out_of_range", model([helper.make_node("Gather", ["x", "i"], ["y"], axis=1)], x, y,
                                       [ints("i", [1 << 40])])
    yield "split_overflow", model([helper.make_node("Split", ["x", "s"], ["y", "z"], axis=1)], x, y,
                                  [ints("s", [(1 << 63) - 1, 2])])
    yield "opset_from_the_future", model([helper.make_node("Relu", ["x"], ["y"])], x, y, opset=999)
    yield "ir_from_the_future", model([helper.make_node("Relu", ["x"], ["y"])], x, y, ir=999)
    yield "unknown_operator", model([helper.make_node("NoSuchOp", ["x"], ["y"])], x, y)
    yield "foreign_domain", model([helper.make_node("Relu", ["x"], ["y"], domain="com.evil")], x, y)
    deep = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [], [value("y", None)])
    for _ in range(10):
        deep = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=deep, else_branch=deep)], "g", [],
                                 [value("y", None)])
    yield "deep_subgraphs", model([helper.make_node("If", ["c"], ["y"], then_branch=deep, else_branch=deep)],
                                  x + [value("c", [], TensorProto.BOOL)], y)
    chain = [helper.make_node("Relu", ["x" if i == 0 else f"t{i - 1}"], [f"t{i}" if i < 4999 else "y"])
             for i in range(5000)]
    yield "chain_stored_backwards", model(list(reversed(chain)), x, y)
    yield "no_outputs", model([helper.make_node("Relu", ["x"], ["y"])], x, [])
    yield "two_data_fields", model([helper.make_node("Add", ["x", "b"], ["y"])], x, y,
                                   [helper.make_tensor("b", TensorProto.FLOAT, [1], [1.0])])
    yield "bytes_not_onnx", None


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, m in cases():
        path = os.path.join(out, name + ".onnx")
        if m is None:
            with open(path, "wb") as f:
                f.write(b"\x0a\xff\xff\xff\xff\x0f" + os.urandom(64))
            continue
        if name == "two_data_fields":
            m.graph.initializer[0].raw_data = np.float32(2).tobytes()
        with open(path, "wb") as f:
            f.write(m.SerializeToString())
    print(len(os.listdir(out)), "models in", out)


if __name__ == "__main__":
    main()
