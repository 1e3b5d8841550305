# The README's commands. `make demo`: set up, then train, transcribe a file and score (greedy, then
# beam search with the run's LM, last) on the embedded corpus. `make test`: set up, then lint and
# the test suite (what CI runs).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN ?= runs/demo
CKPT := $(RUN)/checkpoints/best.ckpt

.PHONY: setup demo test clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,voices]'
	$(VENV)/bin/asr-fetch-voices
	touch $@

demo: setup
	$(PY) scripts/train.py hydra.run.dir=$(RUN) +trainer.enable_progress_bar=false
	$(PY) scripts/transcribe.py ckpt=$(CKPT) audio=data/synthetic/audio/test/test_000000.wav \
		hydra.run.dir=$(RUN)/transcribe
	@echo "reference: $$(head -n 1 data/synthetic/test.jsonl)"
	$(PY) scripts/decode.py ckpt=$(CKPT) report=$(RUN)/test_report.json hydra.run.dir=$(RUN)/decode

test: setup
	$(PY) -m ruff check src scripts tests benchmarks
	$(PY) -m pytest

clean:
	rm -rf runs outputs multirun data
