# The two commands a user needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test bench clean

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

bench: install
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/sr_throughput.py

clean:
	rm -rf $(VENV) checkpoints/demo* datasets/demo_data
