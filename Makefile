# Two commands do everything on a fresh machine with Python 3.11:
#   make run    create .venv if missing, install, launch the app at http://127.0.0.1:7860
#   make test   create/update .venv, install the dev tools (and Chromium), run the whole suite
# Re-running either is fast: installs happen only when a requirements file changed.
# While working, `make test-fast` runs the unit tier: no training beyond a few steps, no app
# server, no browser (the `slow`, `server` and `browser` markers; see pyproject.toml).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Two test processes, a test file each at a time (its module fixtures and servers stay in one
# process): most of the suite is one-core work (graph tracing, servers, subprocesses), so two
# halve the wall time on two cores. `PARALLEL=` runs it in one process.
PARALLEL ?= -n 2 --dist loadfile

.PHONY: run test test-fast lint bench scoreboard evaluate robustness ship first-result space clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

# The browser test drives Debian's Chromium through Playwright; it skips (and says so) where
# Chromium cannot be installed.
$(VENV)/.chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    >/dev/null 2>&1 || echo "note: could not install chromium; the browser test will skip"; }
	touch $@

run: $(VENV)/.installed
	$(BIN)/python app.py

test: $(VENV)/.installed-dev $(VENV)/.chromium
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest $(PARALLEL)

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow and not server and not browser"

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check .

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

# The squares ablation (bench/experiments/) is scored beside the shipped models when present.
ABLATION := bench/experiments/ablation/squares-closedloop.keras

evaluate: $(VENV)/.installed
	$(BIN)/python -m frameprophet evaluate --model mnist \
	  $(if $(wildcard weights/mnist-keras3.keras),--model mnist-keras3) --dataset mnist \
	  --n 1000 --json bench/results/eval_mnist.json --plot bench/results/eval_mnist.png
	$(BIN)/python -m frameprophet evaluate --model squares \
	  $(if $(wildcard weights/squares-keras2.keras),--model squares-keras2) \
	  $(if $(wildcard $(ABLATION)),--model $(ABLATION)) \
	  --dataset squares \
	  --n 1000 --json bench/results/eval_squares.json --plot bench/results/eval_squares.png
	$(BIN)/python -m frameprophet evaluate --model natural --dataset natural \
	  --n 1000 --json bench/results/eval_natural.json --plot bench/results/eval_natural.png

# Every shipped model and copy-last on worlds they never saw: Moving MNIST
# (bench/results/robustness.json) and pictures in motion (robustness_natural.json).
robustness: $(VENV)/.installed
	$(BIN)/python -m bench.release.robustness --n 200
	$(BIN)/python -m bench.release.robustness --n 200 --dataset natural

scoreboard: $(VENV)/.installed-dev
	$(BIN)/python -m bench.release.scoreboard

# make ship CANDIDATE=runs/NAME/mnist.keras: into weights/ only if it is closer to the goal.
ship: $(VENV)/.installed-dev
	$(BIN)/python -m bench.release.ship $(CANDIDATE)
	$(BIN)/python -m bench.release.scoreboard

# The app's first result (weights/first_result/), drawn again if weights/mnist.keras changed
# since; `make ship` does it too.
first-result: $(VENV)/.installed
	$(BIN)/python -m bench.release.ship --first-result

space: $(VENV)/.installed
	$(BIN)/python -m frameprophet space --out space_build $(if $(REPO_ID),--repo-id $(REPO_ID))

clean:
	rm -rf $(VENV) space_build .pytest_cache .ruff_cache
