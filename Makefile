# Two entry points for a fresh clone: `make demo` and `make test`.
# Both create .venv with the pinned dependencies in constraints.txt on first use.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: demo test browser test-tools bench bench-serving bench-boosting bench-booster-plans bench-sklearn-plans bench-labels bench-drift bench-multivariate bench-estimation bench-retrain bench-batch bench-tui bench-sql bench-plan bench-log-import install

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vigil demo

test: $(STAMP) browser test-tools
	$(VENV)/bin/python -m pytest

# One test opens a report in headless Chromium (Debian's package, driven by Playwright): installed
# here when missing, with sudo unless run as root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || [ -n "$$VIGIL_CHROMIUM" ] || { \
		echo "installing Debian's chromium for the report test"; \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null || { \
			$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; }; }

# The protocol tests check Vigil's answers with other people's tools: promtool (Debian's prometheus package)
# and PySpark 4, which needs Java 17 or later (openjdk-17-jre-headless; Debian's default-jre-headless where 17
# is not packaged). Installed here when missing.
test-tools:
	@command -v promtool >/dev/null 2>&1 || { \
		echo "installing Debian's prometheus for promtool"; \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null || { \
			$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null; }; }
	@command -v java >/dev/null 2>&1 || { \
		echo "installing Debian's headless Java runtime for PySpark"; \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless >/dev/null || { \
			$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && { \
			$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless >/dev/null || \
			$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends default-jre-headless >/dev/null; }; }; }
	@command -v tmux >/dev/null 2>&1 || { \
		echo "installing Debian's tmux for the console-beside-the-CLI test"; \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null || { \
			$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null; }; }

BENCH_VENV := .bench-venv

$(BENCH_VENV)/.installed: bench/peer-requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/peer-requirements.txt
	touch $(BENCH_VENV)/.installed

# Benchmarks compare with MLflow, installed in its own venv (.bench-venv) so it never touches Vigil's.
bench: $(STAMP) $(BENCH_VENV)/.installed
	$(VENV)/bin/python bench/startup.py

# The serving benchmark also needs wrk (Debian package) as the load generator.
bench-serving: $(STAMP) $(BENCH_VENV)/.installed
	command -v wrk >/dev/null || apt-get install -y wrk
	$(VENV)/bin/python bench/serving.py

# XGBoost, LightGBM and CatBoost models served by Vigil and by MLflow's own flavours (needs wrk).
bench-boosting: $(STAMP) $(BENCH_VENV)/.installed
	command -v wrk >/dev/null || apt-get install -y wrk
	$(VENV)/bin/python bench/boosting_serving.py --markdown

# One-row latency of XGBoost, LightGBM and CatBoost scoring plans against each library, in process.
bench-booster-plans: $(STAMP)
	$(VENV)/bin/python bench/booster_plans.py --markdown

# One-row latency of scikit-learn pipelines' scoring plans (logistic regression, random forest), in process.
bench-sklearn-plans: $(STAMP)
	$(VENV)/bin/python bench/sklearn_plans.py

# Labels per second: the feedback API at 1k/10k/100k per call and `vigil labels load` of 1M labels,
# against one INSERT per label (the former feedback path) in the same run.
bench-labels: $(STAMP)
	$(VENV)/bin/python bench/labels.py

EVIDENTLY_VENV := .bench-venv-evidently

$(EVIDENTLY_VENV)/.installed: bench/evidently-requirements.txt
	$(PYTHON) -m venv $(EVIDENTLY_VENV)
	$(EVIDENTLY_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/evidently-requirements.txt
	touch $(EVIDENTLY_VENV)/.installed

# The drift benchmark compares with Evidently, installed in its own venv.
bench-drift: $(STAMP) $(EVIDENTLY_VENV)/.installed
	$(VENV)/bin/python bench/drift.py --markdown

NANNYML_VENV := .bench-venv-nannyml

$(NANNYML_VENV)/.installed: bench/nannyml-requirements.txt
	$(PYTHON) -m venv $(NANNYML_VENV)
	$(NANNYML_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/nannyml-requirements.txt
	touch $(NANNYML_VENV)/.installed

# Multivariate drift (PCA reconstruction error) against NannyML's, installed in its own venv.
bench-multivariate: $(STAMP) $(NANNYML_VENV)/.installed
	$(VENV)/bin/python bench/multivariate_drift.py --markdown

# Label-free performance estimation (CBPE, DLE) against NannyML's, in its venv: agreement per chunk and 1M-row speed.
bench-estimation: $(STAMP) $(NANNYML_VENV)/.installed
	$(VENV)/bin/python bench/estimation.py --markdown

# Scoring latency while four viewers run heavy SQL console queries (needs wrk).
bench-sql: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(VENV)/bin/python bench/sql_console.py

# Scoring latency while a model retrains (needs wrk).
bench-retrain: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(VENV)/bin/python bench/retrain_latency.py

# `vigil score` on 0.5M and 5M rows against one predict_proba on the whole frame (py-spy, if installed, for phases).
bench-batch: $(STAMP)
	$(VENV)/bin/python bench/batch_scoring.py --markdown --profile

bench-tui: $(STAMP)
	$(VENV)/bin/python bench/tui.py

# An exported scoring plan's rows/s on one core (PortablePlan.score on Arrow) against the pipeline's predict_proba.
bench-plan: $(STAMP)
	$(VENV)/bin/python bench/plan_rows.py

# `vigil log import` of a 10-million-row cluster run (made with the recipe's writer), and the exported plan on
# Spark local mode (one core, every core) against `vigil score` on the same rows (needs Java for PySpark).
bench-log-import: $(STAMP) test-tools
	$(VENV)/bin/python bench/log_import.py
