# The verbs of the project. `make dev` runs it locally, `make test` proves it, `make up` deploys it.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 3000
STACK ?= dev
# Region: REGION, else the stack file's `region`, else AWS_REGION.
REGION ?=
YES ?=
# ALLOW_DATA_LOSS=1: let `up` replace a table that holds todos (or a user pool with users), deleting them.
ALLOW_DATA_LOSS ?=
IAC = cargo run --quiet -p iac --
IAC_FLAGS = --stack $(STACK) $(if $(REGION),--region $(REGION)) $(if $(filter 1 yes true,$(VERBOSE)),--verbose)
CONFIRM = $(if $(filter 1 yes true,$(YES)),--yes,)
# make smoke: URL= (default: the stack's outputs), TOKEN= or TOKEN_CMD= (a bearer token, sign-in on).
URL ?=
TOKEN ?=
TOKEN_CMD ?=
# make logs: SINCE= how far back (10m), FOLLOW=1 keep following, FILTER= a CloudWatch filter pattern
# (taken as written: `make logs FILTER='{ $.status >= 500 }'`).
export URL TOKEN TOKEN_CMD
SINCE ?= 10m
FOLLOW ?=
FILTER ?=
# make preview JSON=1: one JSON document on stdout (the plan for people goes to stderr).
JSON ?=
# VERBOSE=1: an error is followed by its causes (the SDK's own errors), one `caused by:` line each.
VERBOSE ?=
# make dev AUTH=1: sign-in through the local OpenID provider (client/scripts/oidc-provider.mjs).
AUTH ?=
AUTH_ISSUER = http://localhost:9000
AUTH_AUDIENCE = urn:todos:api
AUTH_PASSWORD ?= todos-dev-password

# The binaries the tests run (dev server, test issuer), built with the features `cargo test --workspace`
# resolves, so after the test build this compiles nothing; `-p todos --bin dev-server` alone resolves
# them differently and rebuilt 34 crates (100 s on the CI machine) in each phase that ran it.
TEST_BINS = cargo build --quiet --workspace --bins --examples

# Emulators the tests start themselves (each on a free loopback port).
export DYNALITE_DIR := $(CURDIR)/lambda/tests/emulator
export MOTO_SERVER ?= $(CURDIR)/target/tools/venv/bin/moto_server
export SCHEMATHESIS ?= $(CURDIR)/target/tools/venv/bin/schemathesis

.PHONY: help dev dev-api test test-bins test-rust test-schema test-client test-arm64 test-extended deps lint build client preview up destroy down outputs smoke logs bench

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

dev: client/node_modules ## the API on the embedded store (127.0.0.1:3000) and the client (localhost:8100); AUTH=1 adds sign-in through a local OpenID provider (localhost:9000); Ctrl-C stops all
	cargo build -p todos --bin dev-server
ifeq ($(filter 1 yes true,$(AUTH)),)
	@echo "API    http://127.0.0.1:3000/v1/todos   (data: target/dev-data/todos.redb)"
	@echo "client http://localhost:8100                (Ctrl-C stops both)"
	@# The client's config.json points at port 3000; PORT is unset for ng serve, which would read it.
	@./target/debug/dev-server --host 127.0.0.1 --port 3000 & api=$$!; \
	  (cd client && exec env -u PORT npm start) & web=$$!; \
	  trap 'kill $$api $$web 2>/dev/null; wait $$api $$web 2>/dev/null; exit 0' INT TERM; \
	  wait -n $$api $$web || true; kill $$api $$web 2>/dev/null; wait 2>/dev/null; exit 1
else
	@echo "sign-in http://localhost:9000    local OpenID provider (discovery: /.well-known/openid-configuration)"
	@echo "          users alice@example.com, bob@example.com   password $(AUTH_PASSWORD)"
	@echo "API     http://127.0.0.1:3000/v1/todos   tokens from $(AUTH_ISSUER) for $(AUTH_AUDIENCE) (data: target/dev-data/todos-auth.redb)"
	@echo "client  http://localhost:8100   (client/dev/auth/config.json; Ctrl-C stops all three)"
	@mkdir -p target/dev-data
	@# The provider first: the API reads its discovery document and keys.
	@(cd client && exec env OIDC_PASSWORD='$(AUTH_PASSWORD)' ./node_modules/.bin/node scripts/oidc-provider.mjs --port 9000 --audience $(AUTH_AUDIENCE)) & idp=$$!; \
	  trap 'kill $$idp $${api:-} $${web:-} 2>/dev/null; wait 2>/dev/null; exit 0' INT TERM; \
	  for _ in $$(seq 100); do curl -sf -o /dev/null $(AUTH_ISSUER)/.well-known/openid-configuration && break; sleep 0.1; done; \
	  ./target/debug/dev-server --host 127.0.0.1 --port 3000 --data target/dev-data/todos-auth.redb \
	    --auth-issuer $(AUTH_ISSUER) --auth-audience $(AUTH_AUDIENCE) & api=$$!; \
	  (cd client && exec env -u PORT npm run start:auth) & web=$$!; \
	  wait -n $$idp $$api $$web || true; kill $$idp $$api $$web 2>/dev/null; wait 2>/dev/null; exit 1
endif

dev-api: ## only the API, in the foreground, on 127.0.0.1:$(PORT) (make dev-api PORT=8080)
	cargo run -p todos --bin dev-server -- --host 127.0.0.1 --port $(PORT)

client/node_modules:
	npm ci --prefix client --no-audit --no-fund --loglevel=error

deps: ## install what the tests need (emulators, client dependencies, Chromium)
	bash .ci/deps.sh

test: ## every test: Rust (on dynalite and moto), schemathesis, client unit + e2e, the arm64 bootstrap under qemu; installs what they need first
	@bash scripts/test.sh

test-bins:
	$(TEST_BINS)

test-rust: ## Rust unit and integration tests (starts dynalite and moto on loopback)
	@# Four tests at a time, not one per core: the moto tests mostly wait on moto (each holds a server
	@# of its own); 4 threads took them from 97 s (2 threads) to 66 s here, and 8 gained nothing.
	RUST_TEST_THREADS=$${RUST_TEST_THREADS:-4} cargo test --workspace --no-fail-fast

test-schema: ## schemathesis against the OpenAPI document on the dev server, open and signed in (60 s each)
	bash lambda/tests/schemathesis.sh 60

test-extended: deps ## the long runs: more load, 10 min of schemathesis, long deploy-interruption trials
	LOAD_OPS=200 cargo test -p todos --test it load:: -- --nocapture
	bash lambda/tests/schemathesis.sh 600
	cargo test -p iac -- --ignored --nocapture
	bash lambda/fuzz/run.sh 300

test-client: ## client unit tests, production build, e2e in headless Chromium against the real API
	$(TEST_BINS)
	cd client && npm run --silent test:unit
	cd client && npm run --silent build
	cd client && DEV_SERVER_BIN=$(CURDIR)/target/debug/dev-server npm run --silent test:e2e

test-arm64: build ## the shipped arm64 bootstrap, under qemu, against a fake Runtime API and dynalite
	bash lambda/tests/arm64/run.sh

lint: ## clippy (warnings are errors), rustfmt, actionlint on the GitHub workflows
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all --check
	@if [ -x target/tools/venv/bin/actionlint ]; then target/tools/venv/bin/actionlint .github/workflows/*.yml && echo "actionlint: ok"; \
	  else echo "actionlint not installed (make deps)"; fi

build: ## target/lambda/bootstrap.zip: the arm64 Lambda (installs the cross toolchain on first use)
	@# No unwind tables: panic = "abort" means nothing unwinds, and they are 0.15 MB of the zip.
	ARM64_NO_EH_FRAME=1 bash lambda/scripts/build-arm64.sh

client: client/node_modules ## production build of the client into client/www (config.json from the stack's outputs if any)
	cd client && npm run --silent build
	@if [ -f .stacks/$(STACK)/outputs.json ]; then node client/scripts/write-config.mjs .stacks/$(STACK)/outputs.json client/www; fi

preview: ## what `up` would change, resource by resource (changes nothing); JSON=1 for one JSON document
	$(IAC) preview $(IAC_FLAGS) $(if $(filter 1 yes true,$(JSON)),--json)

up: build ## deploy the stack (asks first; YES=1 to skip; ALLOW_DATA_LOSS=1 to replace a table holding todos)
	$(IAC) up $(IAC_FLAGS) $(CONFIRM) $(if $(filter 1 yes true,$(ALLOW_DATA_LOSS)),--allow-data-loss,)

destroy: ## tear the stack down (asks first; YES=1 to skip)
	$(IAC) destroy $(IAC_FLAGS) $(CONFIRM)

down: destroy ## alias of destroy

outputs: ## the stack's outputs (API URL); JSON=1 for JSON
	$(IAC) outputs $(IAC_FLAGS) $(if $(filter 1 yes true,$(JSON)),--json)

smoke: ## end-to-end check of the deployed API (URL=... to check another; TOKEN=... or TOKEN_CMD=... with sign-in)
	@# URL, TOKEN and TOKEN_CMD reach `iac smoke` through the environment (exported above): a token
	@# on a command line would show in `ps` and in make's echo.
	$(IAC) smoke --stack $(STACK)

logs: ## the function's log events of the last SINCE (10m), one line per request; FOLLOW=1 follows, FILTER=... filters
	$(IAC) logs $(IAC_FLAGS) --since '$(SINCE)' $(if $(filter 1 yes true,$(FOLLOW)),--follow) $(if $(value FILTER),--filter '$(value FILTER)')

bench: ## the benchmark table (writes bench/RESULTS.md); installs its tools first (bench/setup.sh)
	@python=$$(bash bench/setup.sh | tail -1) && "$$python" bench/run.py
