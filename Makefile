# Thin wrappers. A fresh machine needs the Rust toolchain and Python 3 (test installs moto into .venv).
CARGO ?= cargo
KINDLING = $(CARGO) run --quiet -p kindling-local --bin kindling --

FUNCTIONS = track intake score send-steps notify feedback

.PHONY: demo serve check test fmt lint unit build build-functions bench-lambda

## Run the whole pipeline locally: a scripted 17-day scenario on a simulated clock.
demo:
	$(KINDLING) demo

## Serve the HTTP API, example site, bus and scheduler on http://127.0.0.1:8787.
serve:
	$(KINDLING) serve

## Validate config/ (file:line errors, non-zero exit).
check:
	$(KINDLING) check

## Everything CI runs: formatting, lints, the release function binaries, all tests (AWS ones on moto).
test: fmt lint build-functions unit

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Starts moto (installed into .venv on first use) on a free loopback port for the AWS tests.
unit:
	scripts/with-moto $(CARGO) test --workspace

build:
	$(CARGO) build --workspace --release

## The six Lambda functions (and the hello-world baseline) as release binaries in target/release/.
build-functions:
	$(CARGO) build --release $(addprefix -p ,$(FUNCTIONS)) -p hello-lambda

## Init time and size of each function beside hello-world (BENCHMARKS.md).
bench-lambda: build-functions
	$(CARGO) run --release --quiet -p kindling-tests --example lambda_init -- 20
