#!/usr/bin/env python3
"""Exports small, seeded configurations of today's classifier families from torchvision to ONNX with
both of PyTorch's exporters (TorchScript at opset 17: NAME.onnx; dynamo at opset 20: NAME.dynamo.onnx,
needs onnxscript), and onnxruntime's logits on a seeded input beside each, for
Tests/ONNXInteropTests/ModelFamilyTests.swift. Run in .venv-torch (scripts/bootstrap --torch, then
`pip install torchvision onnxruntime` into it); the files it writes are committed, so the tests need
neither PyTorch nor network.

    .venv-torch/bin/python scripts/export_families.py Tests/Fixtures/families
"""
import json
import os
import sys
import warnings

import numpy as np
import onnxruntime as ort
import torch
from torchvision.models import convnext, efficientnet, mobilenetv3, swin_transformer, vision_transformer
from torchvision.models.convnext import CNBlockConfig

warnings.filterwarnings("ignore")


def families():
    yield "vit", vision_transformer.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)
    yield "convnext", convnext.ConvNeXt(
        [CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], stochastic_depth_prob=0.0, num_classes=10)
    yield "swin", swin_transformer.SwinTransformer(
        patch_size=[4, 4], embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=[2, 2],
        stochastic_depth_prob=0.0, num_classes=10)
    yield "efficientnet", efficientnet._efficientnet(
        efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.25)[0],
        dropout=0.0, last_channel=None, weights=None, progress=False, num_classes=10)
    settings, last = mobilenetv3._mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.25)
    yield "mobilenetv3", mobilenetv3.MobileNetV3(settings, last, num_classes=10)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    summary = {}
    for name, model in families():
        torch.manual_seed(0)
        for p in model.parameters():
            with torch.no_grad():
                p.copy_(torch.randn_like(p) * 0.1)
        model.eval()
        x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
        path = os.path.join(out, f"{name}.onnx")
        torch.onnx.export(model, x, path, opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, dynamo=False)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        logits = session.run(None, {"input": x.numpy()})[0]
        np.save(os.path.join(out, f"{name}.input.npy"), x.numpy())
        np.save(os.path.join(out, f"{name}.logits.npy"), logits.astype(np.float32))
        dynamo = os.path.join(out, f"{name}.dynamo.onnx")
        program = torch.onnx.export(model, (x,), dynamo=True, opset_version=20, input_names=["input"],
                                    output_names=["logits"], external_data=False)
        program.save(dynamo, external_data=False)
        session = ort.InferenceSession(dynamo, providers=["CPUExecutionProvider"])
        np.save(os.path.join(out, f"{name}.dynamo.logits.npy"),
                session.run(None, {"input": x.numpy()})[0].astype(np.float32))
        summary[name] = {"bytes": os.path.getsize(path), "parameters": sum(p.numel() for p in model.parameters())}
        print(name, summary[name])
    with open(os.path.join(out, "families.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
