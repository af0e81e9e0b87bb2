# LINE: two entry points for a fresh machine (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo prepare test test-fast lint bench clean-venv

$(STAMP): pyproject.toml scripts/setup_env.sh
	bash scripts/setup_env.sh
	touch $(STAMP)

## Fill the caches the first run waits on (models, embeddings, control activations, the
## default unit's initial pool): minutes once, seconds after that (see `line prepare`).
prepare: $(STAMP)
	$(BIN)/line prepare

## Prepare, then start the dashboard on the embedded offline default (127.0.0.1:8501).
demo: prepare
	$(BIN)/line dashboard --runs-dir runs --host 127.0.0.1 --port 8501

## Install everything and run the whole test suite (what CI runs).
test: $(STAMP)
	bash scripts/system_deps.sh
	$(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser and not gpu"

lint: $(STAMP)
	$(BIN)/ruff check line_core dashboard tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/offline_loop.py
