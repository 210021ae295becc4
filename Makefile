# Glew: the two commands a newcomer needs are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
# Optional: where to pip-install torch from (e.g. https://download.pytorch.org/whl/cpu
# on machines whose default index would pick a multi-GB CUDA build).
TORCH_INDEX ?=
# GLUE files for the demo baseline; the repository's sibling shared/data is used when
# present. Any folder in the original GLUE layout works.
GLEW_DATA_DIR ?= $(wildcard $(CURDIR)/../shared/data/glue)
export GLEW_DATA_DIR

.PHONY: install system-run system-test run test test-fast lint bench clean

install: $(VENV)/.installed

# System programs (bubblewrap, a C compiler; Chromium and qemu-user for the tests):
# installed when missing and we are root with apt-get, else the exact command to run
# is printed and make stops before anything is migrated or queued.
system-run:
	scripts/system-packages run

system-test:
	scripts/system-packages test

# kernels/mkl_any_cpu.c is the numerics shim that pip builds (kernels/numerics.py).
$(VENV)/.installed: pyproject.toml kernels/mkl_any_cpu.c
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first and pinned, so nothing later resolves it to a CUDA build.
	$(PIP) install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install --quiet -e '.[dev]'
	touch $@

run: system-run install
	# A real sandboxed probe job (bwrap with the flags every job uses, the numerics
	# pins) before anything is migrated or queued.
	$(PY) -m runners.selfcheck
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --port $(PORT)

test: system-test install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow and not integration and not browser"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf var/
