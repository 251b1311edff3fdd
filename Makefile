# rkd — the README's commands. `make test` is what CI runs (.ci/run).

SWIFT ?= swift
# Extra flags for `swift test`, e.g. SWIFT_TEST_FLAGS='--filter TensorEngineTests'.
SWIFT_TEST_FLAGS ?=

.PHONY: bootstrap build test bench conformance-report lint clean

# Installs the Debian packages (needs root or password-less sudo when something is missing).
bootstrap:
	scripts/bootstrap

build:
	$(SWIFT) build $(BUILD_FLAGS)

# An undeclared import between targets fails the build (layers import downward only).
BUILD_FLAGS ?= --explicit-target-dependency-import-check error

# --python also makes .venv/ (onnxruntime, for the differential tests); idempotent, like bootstrap.
test: lint
	scripts/bootstrap --python
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test $(SWIFT_TEST_FLAGS)

# Writes docs/benchmarks/engine.md and docs/benchmarks/engine.json. Run it on an idle machine:
# a build running beside it cuts the figures several times over. onnxruntime (from the project
# venv) is measured first, as the peer.
bench:
	scripts/bootstrap --python
	$(SWIFT) build -c release --product EngineBench
	.venv/bin/python scripts/peer_bench.py --output .build/peers.json
	$(SWIFT) run -c release EngineBench --peers .build/peers.json

# Rewrites docs/onnx-conformance.md from a run of ONNX's backend tests.
conformance-report:
	RKD_CONFORMANCE_REPORT=$(CURDIR)/docs/onnx-conformance.md $(SWIFT) test --filter ConformanceTests

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

clean:
	$(SWIFT) package clean
