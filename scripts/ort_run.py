#!/usr/bin/env python3
"""Runs an ONNX model with onnxruntime on inputs read from files; writes the outputs to files.

The oracle of rkd's differential tests (Tests/ONNXInteropTests/OnnxRuntimeDifferentialTests.swift).
Run it with the project venv (scripts/bootstrap --python):

    .venv/bin/python scripts/ort_run.py MODEL.onnx --input NAME=FILE[:D0xD1x...] ... --output-dir DIR

An input FILE ending in .npy is read with numpy.load; any other file holds raw little-endian
float32 data and needs its shape after a colon (e.g. x=x.bin:2x1x28x28). Each graph output is
written to DIR/output_<i>.bin as raw little-endian float32 (outputs of other element types are
converted), and DIR/outputs.json lists [{"name", "shape", "file", "dtype"}] in graph order
(dtype is the element type onnxruntime produced, before conversion).
Exits 1 with a message on stderr when the model does not load or does not run.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime


def parse_input(spec):
    """NAME=FILE[:SHAPE] -> (name, array)."""
    name, sep, rest = spec.partition("=")
    if not sep or not name:
        raise ValueError(f"--input {spec!r}: expected NAME=FILE[:D0xD1x...]")
    if rest.endswith(".npy"):
        return name, np.load(rest)
    path, sep, shape_text = rest.rpartition(":")
    if not sep:
        raise ValueError(f"--input {spec!r}: a raw float32 file needs its shape, e.g. {name}={rest}:2x3")
    shape = [int(d) for d in shape_text.split("x")] if shape_text else []
    data = np.fromfile(path, dtype="<f4")
    expected = int(np.prod(shape)) if shape else 1
    if data.size != expected:
        raise ValueError(f"--input {spec!r}: {path} holds {data.size} floats, shape {shape} needs {expected}")
    return name, data.reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE[:SHAPE]")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    args = parser.parse_args()

    try:
        feeds = dict(parse_input(spec) for spec in args.input)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: old-opset warnings would drown real failures
        session = onnxruntime.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
        declared = {i.name: i.type for i in session.get_inputs()}
        for name, value in list(feeds.items()):
            if name not in declared:
                raise ValueError(f"the model has no input {name!r}; its inputs are {sorted(declared)}")
            if declared[name] == "tensor(double)":
                feeds[name] = value.astype(np.float64)
            elif declared[name] == "tensor(float16)":
                feeds[name] = value.astype(np.float16)
            else:
                feeds[name] = value.astype(np.float32)
        outputs = session.run(None, feeds)
    except Exception as error:  # the message is what the Swift test shows
        print(f"ort_run: {args.model}: {error}", file=sys.stderr)
        return 1

    os.makedirs(args.output_dir, exist_ok=True)
    manifest = []
    for index, (info, value) in enumerate(zip(session.get_outputs(), outputs)):
        array = np.asarray(value)
        file = f"output_{index}.bin"
        array.astype("<f4").tofile(os.path.join(args.output_dir, file))
        manifest.append({"name": info.name, "shape": list(array.shape), "file": file, "dtype": str(array.dtype)})
    with open(os.path.join(args.output_dir, "outputs.json"), "w") as f:
        json.dump(manifest, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
