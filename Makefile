# The everyday commands. Each creates .venv on first use and installs visframe into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=
RUN    ?=

.PHONY: install run test test-slow test-all ui review bench-embed bench-cluster bench-sweep bench-scale bench-report bench-paper bench-ingest bench-text bench-map bench-review bench-integrity bench-quality device-check lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: the main job on the default synthetic corpus (extra Hydra overrides: make run ARGS="model=tiny_random")
run: install
	$(VENV)/bin/visframe $(ARGS)

## test: the fast suite (unit, end-to-end on a tiny corpus, browser tests when chromium is installed)
test: install
	$(PY) -m pytest -m "not slow" -q

## test-slow: the slow tests only (kill-and-resume, DDP, the paper preset)
test-slow: install
	$(PY) -m pytest -m slow -q

test-all: install
	$(PY) -m pytest -q

## ui: the MLflow UI on the project's store; prints the runs table's URL (the UI opens on GenAI pages otherwise)
UI_HOST ?= 127.0.0.1
UI_PORT ?= 5000
ui: install
	@$(PY) -m visframe.tracking.ui --store $(CURDIR)/mlruns --host $(UI_HOST) --port $(UI_PORT)
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns/mlflow.db \
		--default-artifact-root $(CURDIR)/mlruns/artifacts --host $(UI_HOST) --port $(UI_PORT)

## review: the browser coding app for a run (make review RUN=outputs/2026-11-27/18-00-00)
review: install
	$(VENV)/bin/visframe-review $(RUN) $(ARGS)

bench-embed: install
	$(PY) benchmarks/bench_embed.py $(ARGS)

bench-cluster: install
	$(PY) benchmarks/bench_cluster.py $(ARGS)

bench-sweep: install
	$(PY) benchmarks/bench_sweep.py $(ARGS)

bench-ingest: install
	$(PY) tests/data/bench_ingest.py $(ARGS)

bench-report: install
	$(PY) benchmarks/bench_report.py $(ARGS)

bench-scale: install
	$(PY) benchmarks/bench_scale.py $(ARGS)

## bench-paper: `visframe dataset.preset=paper` end to end from an empty cache (ARGS="--embed-images 100000": the embed stage alone)
bench-paper: install
	$(PY) benchmarks/bench_paper.py $(ARGS)

## device-check: the GPU embedding loop check (on a machine with a GPU; bash -n / --dry-run elsewhere)
device-check: install
	bash benchmarks/device_check.sh $(ARGS)

## bench-quality: the default clusterer on real labelled image sets vs a label-tuned grid (experiments/real_collections/)
bench-quality: install
	$(PY) benchmarks/bench_quality.py $(ARGS)

## bench-text: OCR accuracy (CER, text-presence precision/recall) and speed per backend on the synthetic corpus
bench-text: install
	$(PY) benchmarks/bench_text.py $(ARGS)

## bench-map: /map at 100k and 1M points in headless Chromium (first paint, points request, redraw)
bench-map: install
	$(PY) benchmarks/bench_map.py $(ARGS)

## bench-review: concurrent coders against a live review app (make bench-review RUN=outputs/...)
bench-review: install
	$(PY) benchmarks/review_loadtest.py $(RUN) $(ARGS)

## bench-integrity: the cost of checksummed cache entries (write, verify, load)
bench-integrity: install
	$(PY) benchmarks/bench_integrity.py $(ARGS)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf outputs multirun .pytest_cache
