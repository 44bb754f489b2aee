# The two commands a new user needs:
#   make conformance   set up, run every feature against the embedded sandbox, write reports/
#   make test          the project's own tests (environment errors, skips, detection matrix, secrets)
# ENV=<name or path> runs `make conformance` against another environment.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ENV    ?= sandbox

.PHONY: conformance report serve-report test matrix oidc-provider glewlwyd setup allure-cli clean certify-app certificate

# The suite's exit code (0 conformant, 1 not, 3 environment, 4 configuration) is make's, after
# the HTML report has been generated from whatever results the run left.
conformance: setup
	@status=0; $(PY) -m pytest --env=$(ENV) --alluredir=reports/allure-results --clean-alluredir \
		--junitxml=reports/junit.xml || status=$$?; \
	$(MAKE) --no-print-directory report; exit $$status

# The HTML report, by the Allure 3 command line (npm package `allure`, pinned in package.json).
report:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "HTML report skipped: Node.js (with npm) is not installed. The results are in"; \
		echo "reports/allure-results, the certification record in reports/compliance.json and .md."; \
		echo "Install Node.js 20 or newer, then run: make report"; \
	elif [ ! -d reports/allure-results ]; then \
		echo "HTML report skipped: no results in reports/allure-results (the run stopped before any scenario)"; \
	else \
		$(MAKE) --no-print-directory allure-cli; \
		rm -rf reports/allure-report; node_modules/.bin/allure generate reports/allure-results >/dev/null && \
		$(PY) -m suite.report_page reports/allure-report reports/compliance.json && \
		echo "HTML report: reports/allure-report/index.html (serve it on this machine only: make serve-report)"; \
	fi

# The HTML report on 127.0.0.1 only (`npx allure open` listens on every interface).
serve-report: setup
	@$(PY) -m suite.serve_report reports/allure-report

# The one-page certificate of a conformant, intact record: reports/certificate.html and .pdf
# (printed by Debian's chromium). Exit 1 when the run is not conformant, 4 when the seal breaks.
certificate: setup
	@$(PY) -m suite.certificate reports/compliance.json

test: setup allure-cli
	$(PY) -m pytest -c tests/pytest.ini -n auto tests

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
# Same exit codes; the record in reports/app/compliance.json, the HTML in reports/app/allure-report.
APP ?= examples/web_app/application.yaml
certify-app: setup allure-cli
	@status=0; $(PY) -m appside --app=$(APP) --alluredir=reports/app/allure-results --clean-alluredir \
		--compliance=reports/app/compliance.json --junitxml=reports/app/junit.xml || status=$$?; \
	if [ -x node_modules/.bin/allure ] && [ -d reports/app/allure-results ]; then \
		rm -rf reports/app/allure-report; node_modules/.bin/allure generate reports/app/allure-results \
			-o reports/app/allure-report --report-name "Visma Connect application certification" >/dev/null && \
		echo "HTML report: reports/app/allure-report/index.html"; fi; exit $$status

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
		reports/compliance.md reports/detection-matrix.md reports/history.jsonl
