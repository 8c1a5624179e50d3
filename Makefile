# Thin wrappers. A fresh machine needs the Rust toolchain, Python 3 and Node.js with npm; the
# targets install the rest (Python tools into .venv, npm packages into infra/node_modules).
CARGO ?= cargo
KINDLING = $(CARGO) run --quiet -p kindling-local --bin kindling --

FUNCTIONS = track intake score send-steps notify feedback

# Where cargo builds, as cargo says (CARGO_TARGET_DIR and build.target-dir followed); the stack
# finds the function binaries there through KINDLING_TARGET_DIR.
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo target)
export KINDLING_TARGET_DIR = $(TARGET_DIR)

# Lambda architecture: x86_64 (default, what this project builds and tests) or arm64 (needs the
# aarch64-unknown-linux-gnu standard library and a linker for it).
ARCH ?= x86_64
ifeq ($(ARCH),arm64)
LAMBDA_DIR = $(TARGET_DIR)/lambda-arm64
LAMBDA_FLAGS = --arm64 --lambda-dir $(LAMBDA_DIR)
else
LAMBDA_DIR = $(TARGET_DIR)/lambda
LAMBDA_FLAGS = --x86-64 --lambda-dir $(LAMBDA_DIR)
endif

# Settings of the smoke deploy to moto (the samples in events/ are tagged with configuration set
# `kindling`).
SMOKE_SETTINGS = {"stage":"smoke","senderIdentity":"example.jp","configurationSetName":"kindling","allowedOrigins":["https://www.example.jp"],"alertEmails":["sales@example.jp"],"deletionProtection":false}
# The same with beacons through the beacon function's URL (linted, not deployed).
BEACON_SETTINGS = {"stage":"beacon","senderIdentity":"example.jp","allowedOrigins":["https://www.example.jp"],"deletionProtection":false,"beaconUrl":true}

# The CDK CLI pinned in infra/package.json; no notices or telemetry (they need the network).
CDK = npx cdk --no-notices
export CDK_DISABLE_CLI_TELEMETRY = true

# Debian's chromium for the browser test (root installs directly, others through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo serve check test fmt lint unit build build-lambdas infra-deps infra-test browser-test mail-check synth deploy bench-lambda bench-js bench-pixel bench-kpis bench-rebuild bench-broadcast bench-crm bench-traffic bench-cost bench-first-mail

## Run the whole pipeline locally: a scripted 17-day scenario on a simulated clock.
demo:
	$(KINDLING) demo

## Serve the HTTP API, example site, bus and scheduler on http://127.0.0.1:8787.
serve:
	$(KINDLING) serve

## Validate config/ (file:line errors, non-zero exit).
check:
	$(KINDLING) check

## Everything CI runs: formatting, lints, the Lambda zips' binaries, all Rust tests (AWS ones on
## moto), kindling.js in headless Chromium, every demo mail through Python's email parser and
## SpamAssassin, then the CDK stack: type check, assertions, cdk-nag, cfn-lint, smoke deploy to moto.
test: fmt lint build-lambdas unit browser-test mail-check infra-test

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Starts moto (installed into .venv on first use) on a free loopback port for the AWS tests.
unit:
	scripts/with-moto $(CARGO) test --workspace

build:
	$(CARGO) build --workspace --release

## The six functions (and the hello-world baseline) as $(LAMBDA_DIR)/<function>/bootstrap, the
## files the stack deploys; checks they run on provided.al2023's glibc.
build-lambdas:
	scripts/venv
	.venv/bin/cargo-lambda lambda build --release $(LAMBDA_FLAGS) $(addprefix -p ,$(FUNCTIONS)) -p hello-lambda
	scripts/check-glibc $(LAMBDA_DIR)

infra/node_modules/.package-lock.json: infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund
	touch $@

infra-deps: infra/node_modules/.package-lock.json

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund
	touch $@

## kindling.js and the preference page in Debian's headless Chromium against `kindling serve` (installs chromium if missing).
browser-test: tests/browser/node_modules/.package-lock.json
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)
	$(CARGO) build -p kindling-local
	cd tests/browser && node --test --test-reporter=spec

# Debian's SpamAssassin (shipped rules; the checks run it with -L, no network tests).
SPAMASSASSIN = command -v spamassassin >/dev/null || ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq spamassassin)

## Every mail the demo writes, through Python's strict email parser (7-bit headers, RFC 8058 and
## RFC 2919 headers, both parts with the opt-out) and `spamassassin -t -L`: fails above 2.0 or on
## a rule the product controls that is not documented as kept (scripts/mailcheck.py).
mail-check:
	$(SPAMASSASSIN)
	rm -rf target/mail-check
	$(KINDLING) demo --data-dir target/mail-check > /dev/null
	python3 scripts/mailcheck.py target/mail-check/outbox

## What the open pixel costs with SpamAssassin, beside the alternatives (BENCHMARKS.md).
bench-pixel: mail-check
	python3 bench/pixel-options "$$(ls target/mail-check/outbox/*.eml | head -1)"

## Size of kindling.js minified and gzipped (goal: at most 3 KB).
bench-js: infra-deps
	bench/kindling-js-size

## Build the functions, then synthesize the stack with the settings in infra/cdk.json into
## infra/cdk.out (the template references the built binaries as assets).
synth: build-lambdas infra-deps
	cd infra && $(CDK) synth --quiet

infra-test: infra-deps
	scripts/venv
	cd infra && npx tsc --noEmit
	cd infra && node --import tsx --test --test-reporter=spec test/*.test.ts
	cd infra && $(CDK) synth --quiet
	.venv/bin/cfn-lint infra/cdk.out/Kindling-*.template.json
	cd infra && $(CDK) synth --quiet -o ../target/cdk.beacon -c kindling='$(BEACON_SETTINGS)'
	.venv/bin/cfn-lint target/cdk.beacon/Kindling-beacon.template.json
	cd infra && $(CDK) synth --quiet -o ../target/cdk.smoke -c kindling='$(SMOKE_SETTINGS)'
	.venv/bin/cfn-lint target/cdk.smoke/Kindling-smoke.template.json
	scripts/with-moto .venv/bin/python infra/test/smoke_deploy.py target/cdk.smoke Kindling-smoke

## Deploy to the AWS account and region of your credentials (see README: prerequisites).
deploy: build-lambdas infra-deps
	cd infra && $(CDK) deploy --require-approval broadening

## The KPIs on the embedded store: a year by week read from a 100,000-lead year of buckets,
## and counting one fact (BENCHMARKS.md).
bench-kpis:
	cargo bench -p kindling-tests --bench kpis

## Full segment rebuild on the embedded store, leads per minute (BENCHMARKS.md).
## What the CRM sync costs locally: a form with and without it, one upsert to a receiver on loopback.
bench-crm:
	cargo bench -p kindling-tests --bench crm

## The AWS bill per path: request counts measured on moto (tests/tests/aws/aws_costs.rs), list
## prices in bench/cost/prices.toml (BENCHMARKS.md, "What Kindling costs on AWS").
bench-cost:
	scripts/with-moto $(CARGO) test -p kindling-tests --test aws aws_costs
	python3 bench/cost/cost.py

## Form → thank-you mail in the outbox through `kindling serve` (BENCHMARKS.md, "The first mail").
bench-first-mail:
	$(CARGO) build -p kindling-local
	python3 bench/first-mail/measure.py 20

bench-rebuild:
	cargo bench -p kindling-local --bench rebuild

## A newsletter to 20,000 leads on SQLite: dry run, freeze, recipients to the mailer per minute.
bench-broadcast:
	cargo bench -p kindling-local --bench broadcast

## The traffic a broadcast causes on the pixel, link and preference-page routes, with hey,
## against the local server's [api] route limits, then the links at 3x (BENCHMARKS.md).
bench-traffic:
	command -v hey >/dev/null || $(SUDO) apt-get install -y -q hey
	bench/traffic/run.sh

## Init time and size of each function beside hello-world (BENCHMARKS.md).
bench-lambda: build-lambdas
	$(CARGO) run --release --quiet -p kindling-tests --example lambda_init -- 20
