#!/usr/bin/env python3
"""Paired training-step benchmark (`make bench-paired`, part of `make bench` when .venv-torch exists).

rkd's ResNet-20 training steps against PyTorch's, measured in alternation: each round times rkd
(`AttackBench --only train`: the standard SGD step and the PGD-7 L-inf eps 0.1 adversarial-training
step, batch 128, `--runs` single steps after a warm-up, median) and then PyTorch on the same
workloads in this process (scripts/attack_peers.py's `training_rates`, NCHW and channels-last, the
same runs and warm-up). A round's ratio is rkd's median over the better of PyTorch's two layouts in
that round; the figure is the median of the rounds' ratios.

Why: on a shared 2-core VM the speed of both tools drifts by 10-25 % over minutes, and `make bench`
measures all of PyTorch's workloads minutes before all of rkd's, so one run's ratio moves with the
drift. Rounds that alternate within seconds pair the two tools under the same conditions.

Runs in .venv-torch (scripts/bootstrap --torch); writes docs/benchmarks/paired.md and paired.json.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import attack_peers  # noqa: E402  (the peer's workloads, one definition for both benchmarks)

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = {
    "train step (SGD, batch-norm training mode)": False,
    "PGD-7 L∞ ε=0.1 adversarial-training step": True,
}


def rkd_rates(binary, runs):
    """One AttackBench --only train run: {workload: images/s (median of `runs` steps)}."""
    out = subprocess.run([binary, "--only", "train", "--runs", str(runs)], check=True,
                         capture_output=True, text=True).stdout
    rates = {}
    for name in WORKLOADS:
        match = re.search(re.escape(f"rkd {name}: ") + r"(\d+) images/s", out)
        if not match:
            sys.exit(f"paired_bench: no '{name}' figure in AttackBench's output:\n{out}")
        rates[name] = float(match.group(1))
    return rates


def host():
    """The machine, as rkd's audit reports name it: CPU model, widest vector set the engine uses, cores."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    vector = "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "no avx2"
    return f"{model}, {vector}, {os.cpu_count()} cores"


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--runs", type=int, default=5, help="timed steps per workload and tool in a round (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's threads (rkd: RKD_THREADS, default all cores)")
    parser.add_argument("--binary", default=str(ROOT / ".build/release/AttackBench"))
    parser.add_argument("--output", default=str(ROOT / "docs/benchmarks"), help="directory for paired.md and paired.json")
    args = parser.parse_args()
    if args.rounds < 1 or args.runs < 1:
        sys.exit("paired_bench: --rounds and --runs must be at least 1")
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"paired_bench: {args.binary} is missing: swift build -c release --product AttackBench")
    torch.set_num_threads(args.threads)
    x, y = attack_peers.fashion_mnist_test(128)
    tool = f"PyTorch {torch.__version__}"

    rounds = []
    for index in range(args.rounds):
        started = time.time()
        rkd = rkd_rates(args.binary, args.runs)
        peer = {}
        for name, adversarial in WORKLOADS.items():
            for channels_last in (False, True):
                rates = attack_peers.training_rates(x, y, args.runs, channels_last, adversarial)
                peer[(name, channels_last)] = float(statistics.median(rates))
        row = {"round": index + 1, "seconds": round(time.time() - started, 1), "workloads": {}}
        for name in WORKLOADS:
            nchw, last = peer[(name, False)], peer[(name, True)]
            best = max(nchw, last)
            row["workloads"][name] = {"rkd": rkd[name], "pytorch_nchw": nchw, "pytorch_channels_last": last,
                                      "ratio": rkd[name] / best}
            print(f"round {index + 1}: {name}: rkd {rkd[name]:.0f}, PyTorch {nchw:.0f} (NCHW) "
                  f"{last:.0f} (channels-last) images/s: {rkd[name] / best:.2f}×", flush=True)
        rounds.append(row)

    summary = {}
    for name in WORKLOADS:
        ratios = [r["workloads"][name]["ratio"] for r in rounds]
        summary[name] = {
            "median_ratio": statistics.median(ratios),
            "min_ratio": min(ratios),
            "max_ratio": max(ratios),
            "rkd_median": statistics.median(r["workloads"][name]["rkd"] for r in rounds),
            "pytorch_best_median": statistics.median(
                max(r["workloads"][name]["pytorch_nchw"], r["workloads"][name]["pytorch_channels_last"])
                for r in rounds),
        }
    date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = {"date": date, "commit": commit(), "host": host(), "peer": tool, "threads": args.threads, "rounds": args.rounds,
              "runs": args.runs, "summary": summary, "by_round": rounds}
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "paired.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")

    lines = [
        "# Paired training-step benchmark",
        "",
        "Written by `make bench-paired` (`scripts/paired_bench.py`, part of `make bench` when `.venv-torch`",
        "exists). Each round times rkd (`AttackBench --only train`) and then PyTorch on the same ResNet-20",
        "workloads (batch 128, SGD momentum 0.9, weight decay 5e-4, batch norm in training mode; the PGD-7",
        "step crafts its batch in eval mode first), seconds apart; a round's ratio is rkd over the better",
        "of PyTorch's NCHW and channels-last figures of that round. Each figure is the median of",
        f"{args.runs} single steps after a warm-up.",
        "",
        f"- date: {date}",
        f"- commit: {report['commit']}",
        f"- host: {report['host']}",
        f"- peer: {tool}, {args.threads} threads; rkd: RKD_THREADS={os.environ.get('RKD_THREADS', 'unset (every core)')}",
        f"- rounds: {args.rounds}",
        "",
        "| workload | median ratio | range over rounds | rkd images/s (median) | best PyTorch images/s (median) |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for name, s in summary.items():
        lines.append(f"| {name} | {s['median_ratio']:.2f}× | {s['min_ratio']:.2f}–{s['max_ratio']:.2f}× "
                     f"| {s['rkd_median']:.0f} | {s['pytorch_best_median']:.0f} |")
    lines += ["", "## By round", "",
              "| round | workload | rkd | PyTorch NCHW | PyTorch channels-last | ratio |",
              "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in rounds:
        for name, w in r["workloads"].items():
            lines.append(f"| {r['round']} | {name} | {w['rkd']:.0f} | {w['pytorch_nchw']:.0f} "
                         f"| {w['pytorch_channels_last']:.0f} | {w['ratio']:.2f}× |")
    (out / "paired.md").write_text("\n".join(lines) + "\n")
    for name, s in summary.items():
        print(f"{name}: median ratio {s['median_ratio']:.2f}× ({s['min_ratio']:.2f}–{s['max_ratio']:.2f}×)")


if __name__ == "__main__":
    main()
