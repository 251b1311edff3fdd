# rkd — the README's commands. `make test` is what CI runs (.ci/run).

SWIFT ?= swift
# Extra flags for `swift test`, e.g. SWIFT_TEST_FLAGS='--filter TensorEngineTests'.
SWIFT_TEST_FLAGS ?=

.PHONY: bootstrap build test bench bench-engine bench-attacks bench-paired bench-peers conformance-report lint clean install demo samples crosscheck experiments

# Installs the Debian packages (needs root or password-less sudo when something is missing).
bootstrap:
	scripts/bootstrap

# Installs, builds, starts a per-user daemon and runs rkdctl inspect and predict on a sample model.
demo:
	scripts/demo

build:
	$(SWIFT) build $(BUILD_FLAGS)

# An undeclared import between targets fails the build (layers import downward only).
BUILD_FLAGS ?= --explicit-target-dependency-import-check error

# Tests run one at a time: several spawn child processes (rkdd, python) through Foundation's
# Process, and a child spawned while another test reads a pipe inherits the pipe and keeps it open,
# so that read never ends (seen as a hang of the whole run in the clean-clone CI).
# --python also makes .venv/ (onnxruntime, for the differential tests); idempotent, like bootstrap.
test: lint
	scripts/bootstrap --python
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	scripts/check-systemd-units "$$($(SWIFT) build --show-bin-path)"
	$(SWIFT) test --no-parallel $(SWIFT_TEST_FLAGS)

# Both benchmarks. Run them on an idle machine: a build running beside a benchmark cuts the figures
# several times over.
bench: bench-engine bench-attacks bench-paired

# Opt-in (not in CI): makes .venv-torch (PyTorch CPU + torchattacks, several GB, from PyPI) and runs
# both benchmarks, so that PyTorch is measured beside every engine workload in the same run.
bench-peers:
	scripts/bootstrap --torch
	$(MAKE) bench

# Writes docs/benchmarks/attacks.md and attacks.json: PGD-10 images/s on ResNet-20 and the sample
# SmallCNN, AutoAttack-standard seconds per image on the sample. PyTorch + torchattacks (from
# .venv-torch, made by `scripts/bootstrap --torch`, several GB) are measured first, as the peers,
# when that venv exists.
bench-attacks:
	$(SWIFT) build -c release --product AttackBench
	rm -f .build/attack-peers.json
	if [ -x .venv-torch/bin/python ]; then \
		.venv-torch/bin/python scripts/attack_peers.py --output .build/attack-peers.json; fi
	$(SWIFT) run -c release AttackBench $$([ -f .build/attack-peers.json ] && echo --peers .build/attack-peers.json)

# Writes docs/benchmarks/paired.md and paired.json: rkd's and PyTorch's ResNet-20 training steps timed
# in alternating rounds (the ratio that does not move with the VM's drift between the two runs above).
# Needs .venv-torch (scripts/bootstrap --torch); says so and skips without it.
bench-paired:
	$(SWIFT) build -c release --product AttackBench
	if [ -x .venv-torch/bin/python ]; then .venv-torch/bin/python scripts/paired_bench.py; \
	else echo "bench-paired: skipped: no .venv-torch (scripts/bootstrap --torch makes it)"; fi

# Writes docs/benchmarks/engine.md and docs/benchmarks/engine.json. onnxruntime (from the project
# venv) is measured first, as the peer.
bench-engine:
	scripts/bootstrap --python
	$(SWIFT) build -c release --product EngineBench
	.venv/bin/python scripts/peer_bench.py --output .build/peers.json
	$(SWIFT) run -c release EngineBench --peers .build/peers.json

# Retrains samples/models/fmnist-smallcnn.onnx and fmnist-resnet20.onnx with their manifests (about 2
# and 15 minutes on 2 cores).
samples:
	$(SWIFT) run -c release SampleModels --output samples/models --epochs 2 --seed 1
	$(SWIFT) run -c release SampleModels --arch resnet20 --output samples/models --epochs 2 --seed 1

# The paper's experiments on Fashion-MNIST (issue 12): teacher training, hardening and audits as jobs of
# a private rkdd in .runs/experiments/, then docs/EXPERIMENTS.md. Many hours on two cores; resumable:
# run it again after an interruption and it re-attaches to its jobs (nohup make experiments &).
experiments:
	$(SWIFT) build -c release --product rkdd
	$(SWIFT) build -c release --product rkdctl
	$(SWIFT) build -c release --product SampleModels
	scripts/experiments.py

# Opt-in, not in CI: rkd's attacks against torchattacks' on the sample model (same images, same
# budgets); writes docs/crosscheck.md. Needs .venv-torch (`scripts/bootstrap --torch`).
crosscheck:
	scripts/bootstrap --python --torch
	$(SWIFT) build -c release --product rkdd
	$(SWIFT) build -c release --product rkdctl
	scripts/crosscheck

# Rewrites docs/onnx-conformance.md from a run of ONNX's backend tests.
conformance-report:
	RKD_CONFORMANCE_REPORT=$(CURDIR)/docs/onnx-conformance.md $(SWIFT) test --filter ConformanceTests

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

clean:
	$(SWIFT) package clean

# Installs rkdd, rkdctl, the systemd units, sysusers/tmpfiles snippets, the default configuration
# (kept if one exists) and the README under $(DESTDIR)$(PREFIX). Then, as root:
#   systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload && systemctl enable --now rkdd.socket
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
install:
	$(SWIFT) build -c release --product rkdd
	$(SWIFT) build -c release --product rkdctl
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d $(DESTDIR)$(SYSCONFDIR)/rkd $(DESTDIR)$(PREFIX)/share/doc/rkd
	install -m 755 .build/release/rkdd .build/release/rkdctl $(DESTDIR)$(PREFIX)/bin/
	for unit in rkdd.service rkdd.socket rkd-audit@.service rkd-audit@.timer; do \
		sed -e 's#/usr/bin/#$(PREFIX)/bin/#g; s#/usr/share/doc/rkd/#$(PREFIX)/share/doc/rkd/#g' \
			-e 's#/etc/rkd/#$(SYSCONFDIR)/rkd/#g' systemd/$$unit >$(DESTDIR)$(UNITDIR)/$$unit; \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$unit; \
	done
	install -m 644 systemd/rkd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/rkd.conf
	install -m 644 systemd/rkd.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/rkd.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/rkd/rkdd.conf || install -m 644 systemd/rkdd.conf $(DESTDIR)$(SYSCONFDIR)/rkd/rkdd.conf
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/rkd/README.md
	for teacher in samples/teachers/*/; do \
		[ -f "$$teacher/teacher.onnx" ] || continue; \
		name=$$(basename "$$teacher"); \
		install -d $(DESTDIR)$(PREFIX)/share/rkd/teachers/$$name; \
		install -m 644 "$$teacher/teacher.onnx" "$$teacher/manifest.json" $(DESTDIR)$(PREFIX)/share/rkd/teachers/$$name/; \
	done
