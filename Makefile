# Thin wrappers; every target works on a fresh machine with the Rust toolchain.
CARGO ?= cargo
KINDLING = $(CARGO) run --quiet -p kindling-local --bin kindling --

.PHONY: demo serve check test fmt lint unit build

## Run the whole pipeline locally: a scripted 17-day scenario on a simulated clock.
demo:
	$(KINDLING) demo

## Serve the HTTP API, example site, bus and scheduler on http://127.0.0.1:8787.
serve:
	$(KINDLING) serve

## Validate config/ (file:line errors, non-zero exit).
check:
	$(KINDLING) check

## Everything CI runs: formatting, lints, all tests.
test: fmt lint unit

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Starts moto (installed into .venv on first use) on a free loopback port for the AWS tests.
unit:
	scripts/with-moto $(CARGO) test --workspace

build:
	$(CARGO) build --workspace --release
