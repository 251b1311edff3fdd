#!/usr/bin/env python3
"""The reference side of `make crosscheck`: torchattacks' FGSM, PGD, APGD-CE and AutoAttack (standard)
on the sample classifier (samples/models/fmnist-smallcnn.onnx's weights in an equivalent PyTorch
module) over the first N Fashion-MNIST test images, at each L-inf budget, with the settings rkd's
audit uses. Prints JSON rows {attack, epsilon, robust, examples}. Runs in .venv-torch only.
"""
import argparse
import json
import sys

import torch
import torchattacks

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from attack_peers import fashion_mnist_test, sample_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--eps", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--model", default="samples/models/fmnist-smallcnn.onnx")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = sample_model(args.model)
    x, y = fashion_mnist_test(args.samples)
    rows = []
    for eps in args.eps:
        attacks = {
            "fgsm": torchattacks.FGSM(model, eps=eps),
            "pgd": torchattacks.PGD(model, eps=eps, alpha=2.5 * eps / 10, steps=10, random_start=True),
            "apgd-ce": torchattacks.APGD(model, norm="Linf", eps=eps, steps=100, n_restarts=1, loss="ce", seed=0),
            "autoattack": torchattacks.AutoAttack(model, norm="Linf", eps=eps, version="standard", n_classes=10, seed=0),
        }
        for name, attack in attacks.items():
            adversarial = attack(x, y)
            with torch.no_grad():
                robust = int((model(adversarial).argmax(1) == y).sum())
            rows.append({"attack": name, "epsilon": eps, "robust": robust, "examples": args.samples})
            print(json.dumps(rows[-1]), file=sys.stderr)
    with torch.no_grad():
        clean = int((model(x).argmax(1) == y).sum())
    print(json.dumps({"clean": clean, "examples": args.samples, "rows": rows,
                      "tool": f"PyTorch {torch.__version__} + torchattacks {torchattacks.__version__}"}))


if __name__ == "__main__":
    main()
