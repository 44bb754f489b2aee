# The two commands a new user needs:
#   make conformance   set up, run every feature against the embedded sandbox, write reports/
#   make test          the project's own checks (make lint), then its tests (environment errors, skips,
#                      detection matrix, secrets)
# ENV=<name or path> runs `make conformance` against another environment.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ENV    ?= sandbox

.PHONY: conformance report serve-report lint test matrix oidc-provider glewlwyd setup allure-cli clean certify-app certificate

# `python -m suite.run` is the command for CI: it exits with the suite's own code (0 conformant, 1 not,
# 2 no verdict, 3 environment, 4 configuration, 5 incomplete) and writes the record, JUnit, results
# and HTML report into $(REPORTS). make itself exits 2 whenever that code is not 0 (make's own code
# for a failed recipe); the last line of the output names the suite's code.
REPORTS ?= reports
conformance: setup allure-cli
	@$(PY) -m suite.run --env=$(ENV) --reports=$(REPORTS)

# The HTML report again, from the results of the last run (its history entry is not added twice).
report: allure-cli
	@$(PY) -m suite.reports.html_report $(REPORTS)

# The HTML report of the run that wrote into $(REPORTS), on 127.0.0.1 only (`npx allure open` listens
# on every interface). The report is one file too: index.html opens in a browser as it is.
serve-report: setup
	@$(PY) -m suite.reports.serve_report $(REPORTS)/allure-report

# The one-page certificate of a conformant, intact record: reports/certificate.html and .pdf
# (printed by Debian's chromium). Exit 1 when the run is not conformant, 4 when the seal breaks.
certificate: setup
	@$(PY) -m suite.reports.certificate reports/compliance.json

# The project's own checks, each failing on a finding: ruff (lint, then formatting), mypy on suite/,
# appside/ and sandbox/ (settings in pyproject.toml), and the import arrows between the parts
# (tests/test_architecture.py run as a script: the same check as the test, one line per wrong-way import).
lint: setup
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/ruff format --check --quiet .
	$(VENV)/bin/mypy
	$(PY) tests/test_architecture.py

# Three workers on two cores: the tests mostly wait (sign-ins, expiries, refusal watches); with two,
# both workers were busy the whole run while the CPU was 59% used (1,608 CPU-s in 1,373 s).
test: lint allure-cli
	$(PY) -m pytest -c tests/pytest.ini -n 3 --dist loadgroup --no-loadscope-reorder tests

matrix: setup
	$(PY) scripts/detection_matrix.py

# The suite against node's oidc-provider (started on 127.0.0.1:3311), compared with its
# documented differences from the Visma contract.
oidc-provider: setup allure-cli
	$(PY) scripts/oidc_provider.py

# The suite against Debian's glewlwyd (apt-get install glewlwyd; started on a free loopback port),
# compared with its documented differences from the Visma contract.
glewlwyd: setup
	$(PY) scripts/glewlwyd.py

# Application side: the suite plays Visma Connect for the partner's application (APP=its file).
# Same exit codes; the record in $(APP_REPORTS)/compliance.json, the HTML in $(APP_REPORTS)/allure-report,
# the HTML report made while the folder is still locked (appside.certify).
APP ?= examples/web_app/application.yaml
# Exits as python -m appside does (make's 2 for any other code than 0). A configuration problem (4)
# ran nothing and changed nothing: the previous run's record and HTML report stay as they were.
APP_REPORTS ?= reports/app
certify-app: setup allure-cli
	@$(PY) -m appside.certify --reports=$(APP_REPORTS) --app=$(APP)

setup: $(VENV)/.installed

# The Allure 3 command line, when Node.js is there (the report check in `make test` needs it).
allure-cli:
	@if command -v npm >/dev/null 2>&1 && [ ! -x node_modules/.bin/allure ]; then \
		npm ci --no-audit --no-fund --loglevel=error; fi

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

clean:
	rm -rf $(VENV) node_modules reports/allure-results reports/allure-report reports/*.json reports/*.xml \
		reports/compliance.md reports/detection-matrix.md reports/history.jsonl \
		reports/run-history.jsonl reports/changes.md
