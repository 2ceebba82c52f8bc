# bulk-label-qa: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# SAM CLI and the AWS SDK need a region but no account: fake credentials, no metadata lookups,
# no telemetry, so no network connection is opened.
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test chromium lint typecheck validate security unit browser bench build clean

# --- environments -------------------------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# what `make demo` needs: boto3, moto, python-liquid, PyYAML, Jinja2, aws-lambda-powertools (pyproject.toml [project.dependencies])
$(VENV)/.demo: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

# what `make test` adds: pytest, mypy, ruff, SAM CLI, cfn-lint, checkov, bandit, playwright ([dev])
$(VENV)/.dev: $(VENV)/.demo
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# npm (for asl-validator): Debian's package when running as root, else stop saying what to install.
node_modules/.installed: package.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Node.js and npm (Debian's packages) for asl-validator"; \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "make test needs npm (for asl-validator): install it, e.g. sudo apt-get install -y nodejs npm" >&2; exit 1; \
	  fi; }
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for tests/browser (Playwright drives it, no browser download): Debian's package when
# running as root, as on a fresh CI machine; otherwise stop saying exactly what to install. Without this
# step the browser tests would be skipped and `make test` would pass without checking the pages.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Chromium (Debian's package) for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make test needs headless Chromium at $(CHROMIUM) for tests/browser. Install Debian's package:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2; exit 1; \
	  fi; }
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing after installing chromium" >&2; exit 1; }

# --- the two commands ------------------------------------------------------------------------------
demo: $(VENV)/.demo
	$(BIN)/bulkqa demo --workers 3 --min-confidence 80

test: $(VENV)/.dev node_modules/.installed chromium lint typecheck validate security unit

# --- the checks -----------------------------------------------------------------------------------------
lint: $(VENV)/.dev
	$(BIN)/ruff check functions local tests bench
	$(BIN)/ruff format --check functions local tests bench

typecheck: $(VENV)/.dev
	$(BIN)/mypy

validate: $(VENV)/.dev node_modules/.installed
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml
	$(BIN)/cfn-lint template.yaml -a cfn_lint_serverless.rules
	npx --no-install asl-validator --json-path statemachine/bulk_qa.asl.json

# checkov leaves out resources whose Condition is false with the parameters' defaults, so the template is
# scanned twice: as deployed by default (ReviewBackend=GroundTruth) and with ReviewBackend=SelfHosted.
security: $(VENV)/.dev
	BC_SKIP_MAPPING=TRUE $(BIN)/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml
	@dir=$$(mktemp -d) && sed '0,/^    Default: GroundTruth$$/s//    Default: SelfHosted/' template.yaml > $$dir/template.yaml \
	  && grep -q '^    Default: SelfHosted$$' $$dir/template.yaml \
	  && echo "checkov, ReviewBackend=SelfHosted" \
	  && BC_SKIP_MAPPING=TRUE $(BIN)/checkov --quiet --compact --skip-download --framework cloudformation -f $$dir/template.yaml; \
	  status=$$?; rm -rf $$dir; exit $$status
	$(BIN)/bandit --quiet --recursive functions local --configfile pyproject.toml

unit: $(VENV)/.dev
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

browser: $(VENV)/.dev chromium
	$(BIN)/python -m pytest -q -m browser

bench: $(VENV)/.demo
	$(BIN)/python bench/run.py

# sam build needs an interpreter matching the functions' Runtime (python3.13) on PATH, e.g. with pyenv:
#   PYENV_VERSION=3.11.7:3.13.0 make build
build: $(VENV)/.dev
	$(BIN)/sam build --cached --parallel

clean:
	rm -rf $(VENV) node_modules .aws-sam out .pytest_cache .mypy_cache .ruff_cache
