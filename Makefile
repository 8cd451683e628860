# The two commands a user needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test bench serve browser-deps clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q "torch==2.14.1" "torchvision==0.29.1" || $(BIN)/pip install -q torch torchvision
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python datasets/demo.py

test: install
	$(BIN)/python -m pytest -q

# Debian's Chromium + ChromeDriver for the browser test (tests/test_serve.py, marker `browser`):
# `make test` runs it when /usr/bin/chromium is there and skips it otherwise.
browser-deps:
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq --no-install-recommends chromium chromium-driver

bench: install
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/sr_throughput.py

clean:
	rm -rf $(VENV) checkpoints/demo* datasets/demo_data
