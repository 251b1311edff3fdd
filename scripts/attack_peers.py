#!/usr/bin/env python3
"""Peer figures for AttackBench (`make bench`): PyTorch + torchattacks on the same workloads.

PGD-10 L-inf (eps 0.1, alpha 2.5*eps/10, random start, batch 128) on ResNet-20 (width 16, 1x28x28,
seeded random weights, eval mode; NCHW and channels-last) and on the sample SmallCNN
(samples/models/fmnist-smallcnn.onnx's weights), labels = each model's own predictions; and the
AutoAttack standard (torchattacks.AutoAttack, version='standard') at L-inf eps 0.1 on the sample over
the first 100 Fashion-MNIST test images; and ResNet-20 training steps at batch 128 (SGD momentum 0.9,
weight decay 5e-4, batch norm in training mode): a standard step, and a PGD-7 L-inf eps 0.1
adversarial-training step (torchattacks.PGD crafted in eval mode, then a training-mode step on the
adversarial batch), NCHW and channels-last; and a Robust-KD step (ResNet-20 teacher into a ResNet-20
student, the three stages paired, one projection, exact: double backward; per layer, and with one
projection spanning the three layers as rkd's --projection joint). Runs in .venv-torch (scripts/bootstrap --torch); never at
rkd's run time. Writes rows in AttackBench's format.
"""
import argparse
import copy
import gzip
import json
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchattacks

FMNIST = "/usr/share/datasets/fashion-mnist"


def fashion_mnist_test(count):
    with gzip.open(f"{FMNIST}/t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(f"{FMNIST}/t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    return torch.tensor(images.astype(np.float32) / 255), torch.tensor(labels.astype(np.int64))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def sample_model(path):
    model = SmallCNN()
    weights = {t.name: torch.tensor(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer}
    model.load_state_dict(weights)
    return model.eval()


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for stage in range(3):
            cout = width << stage
            for block in range(3):
                layers.append(Block(cin, cout, 2 if stage > 0 and block == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        y = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


def step_rates(model, x, y, runs, channels_last=False, gradient=False):
    """One forward pass (no autograd) or one attack step (forward + the input gradient of the
    cross-entropy), images/s; five timings per run, as AttackBench does."""
    if channels_last:  # on a copy: nn.Module.to converts in place
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        if gradient:
            inputs = x.clone().requires_grad_(True)
            torch.autograd.grad(F.cross_entropy(model(inputs), y), inputs)
        else:
            with torch.no_grad():
                model(x)

    step()  # warm-up
    rates = []
    for _ in range(runs * 5):
        start = time.perf_counter()
        step()
        rates.append(len(x) / (time.perf_counter() - start))
    return rates


def pgd_rate(model, x, runs, channels_last=False):
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        labels = model(x).argmax(1)
    attack = torchattacks.PGD(model, eps=0.1, alpha=0.025, steps=10, random_start=True)
    attack(x, labels)  # warm-up
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        attack(x, labels)
        rates.append(len(x) / (time.perf_counter() - start))
    return rates


def training_rates(x, y, runs, channels_last=False, adversarial=False):
    torch.manual_seed(0)
    model = ResNet20()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    attack = torchattacks.PGD(model, eps=0.1, alpha=2.5 * 0.1 / 7, steps=7, random_start=True)

    def step():
        inputs = x
        if adversarial:
            model.eval()
            inputs = attack(x, y)
        model.train()
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), y).backward()
        optimizer.step()

    step()  # warm-up
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        rates.append(len(x) / (time.perf_counter() - start))
    return rates


def stage_features(model, x):
    """Logits and the outputs of ResNet-20's three stages (the maps Robust-KD pairs)."""
    y = F.relu(model.bn1(model.conv1(x)))
    features = []
    for index, block in enumerate(model.layers):
        y = block(y)
        if index in (2, 5, 8):
            features.append(y)
    return model.fc(F.adaptive_avg_pool2d(y, 1).flatten(1)), features


def robust_kd_rates(x, y, runs, channels_last=False, alpha=50.0, beta=5e-3, joint=False):
    """Robust-KD steps (exact: double backward), ResNet-20 teacher into a ResNet-20 student, the three
    stages paired, one random unit projection per example and layer, cosine feature distance. With
    `joint`, one projected Jacobian spanning the three layers (rkd's --projection joint): the input
    gradient of Σ_i M_i·z_i, one per network, instead of one per layer."""
    torch.manual_seed(0)
    teacher = ResNet20().eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = ResNet20().train()
    if channels_last:
        teacher = teacher.to(memory_format=torch.channels_last)
        student = student.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step():
        inputs = x.clone().requires_grad_(True)
        _, teacher_maps = stage_features(teacher, inputs)
        logits, student_maps = stage_features(student, inputs)
        loss = F.cross_entropy(logits, y)
        projected_t, projected_s = 0, 0
        for zt, zs in zip(teacher_maps, student_maps):
            loss = loss + alpha * (1 - F.cosine_similarity(zt.flatten(1), zs.flatten(1), dim=1)).mean()
            m = torch.randn_like(zs)
            m = m / m.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            if joint:
                projected_t, projected_s = projected_t + (zt * m).sum(), projected_s + (zs * m).sum()
                continue
            jt = torch.autograd.grad((zt * m).sum(), inputs, retain_graph=True)[0]
            js = torch.autograd.grad((zs * m).sum(), inputs, create_graph=True)[0]
            loss = loss + beta * (js - jt).pow(2).flatten(1).sum(1).mean()
        if joint:
            jt = torch.autograd.grad(projected_t, inputs, retain_graph=True)[0]
            js = torch.autograd.grad(projected_s, inputs, create_graph=True)[0]
            loss = loss + beta * (js - jt).pow(2).flatten(1).sum(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # warm-up
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        rates.append(len(x) / (time.perf_counter() - start))
    return rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sample", default="samples/models/fmnist-smallcnn.onnx")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tool = f"PyTorch {torch.__version__} + torchattacks {torchattacks.__version__}"
    rows = []

    x, y = fashion_mnist_test(128)
    resnet = ResNet20().eval()
    sample = sample_model(args.sample)
    for name, model, channels_last in [
        ("ResNet-20", resnet, False),
        ("ResNet-20", resnet, True),
        ("SmallCNN (sample)", sample, False),
    ]:
        for kind, gradient in [("forward (inference)", False),
                               ("forward + input gradient (one attack step)", True)]:
            rates = step_rates(model, x, y, args.runs, channels_last, gradient)
            rows.append({
                "workload": f"{kind} {name}, batch 128",
                "tool": tool + (" (channels-last)" if channels_last else ""),
                "median": float(np.median(rates)), "unit": "images/s", "runs": rates,
            })
            print(rows[-1]["workload"], rows[-1]["tool"], int(rows[-1]["median"]), "images/s")

    for name, model, channels_last in [
        ("ResNet-20", resnet, False),
        ("ResNet-20", resnet, True),
        ("SmallCNN (sample)", sample, False),
    ]:
        rates = pgd_rate(model, x, args.runs, channels_last)
        rows.append({
            "workload": f"PGD-10 L∞ {name}, batch 128",
            "tool": tool + (" (channels-last)" if channels_last else ""),
            "median": float(np.median(rates)), "unit": "images/s", "runs": rates,
        })
        print(rows[-1]["workload"], rows[-1]["tool"], int(rows[-1]["median"]), "images/s")

    for adversarial in [False, True]:
        for channels_last in [False, True]:
            rates = training_rates(x, y, args.runs, channels_last, adversarial)
            name = ("PGD-7 L∞ ε=0.1 adversarial-training step" if adversarial
                    else "train step (SGD, batch-norm training mode)")
            rows.append({
                "workload": f"{name} ResNet-20, batch 128",
                "tool": tool + (" (channels-last)" if channels_last else ""),
                "median": float(np.median(rates)), "unit": "images/s", "runs": rates,
            })
            print(rows[-1]["workload"], rows[-1]["tool"], int(rows[-1]["median"]), "images/s")

    for joint, channels_last in [(False, False), (False, True), (True, False), (True, True)]:
        rates = robust_kd_rates(x, y, args.runs, channels_last, joint=joint)
        mode = "exact, joint projection" if joint else "exact"
        rows.append({
            "workload": f"Robust-KD step ({mode}, 3 layers, 1 projection) ResNet-20, batch 128",
            "tool": tool + (" (channels-last)" if channels_last else ""),
            "median": float(np.median(rates)), "unit": "images/s", "runs": rates,
        })
        print(rows[-1]["workload"], rows[-1]["tool"], int(rows[-1]["median"]), "images/s")

    x, y = fashion_mnist_test(100)
    attack = torchattacks.AutoAttack(sample, norm="Linf", eps=0.1, version="standard", n_classes=10, seed=0)
    start = time.perf_counter()
    adversarial = attack(x, y)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        robust = int((sample(adversarial).argmax(1) == y).sum())
    rows.append({
        "workload": "AutoAttack standard L∞ ε=0.1, SmallCNN (sample), 100 images",
        "tool": tool, "median": seconds / 100, "unit": "s/image", "runs": [seconds / 100],
        "note": f"robust {robust}/100",
    })
    print(rows[-1]["workload"], seconds / 100, "s/image, robust", robust)
    with open(args.output, "w") as f:
        json.dump(rows, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
