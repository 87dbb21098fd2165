# Two commands do all the set-up on a fresh machine (Linux, macOS on Apple silicon, or Windows
# through WSL; Python 3.11 to 3.13; no GPU or hub access needed):
#   make lab    virtual environment + the course, then JupyterLab on notebooks/
#   make test   the same set-up, then the unit tests, the browser test and strict nbval over every notebook
# On Linux x86-64 both install the exact versions in requirements/lock.txt (`make lock` writes it);
# elsewhere, the newest versions that pyproject.toml's ranges admit.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lmcourse-installed
LOCK := requirements/lock.txt
COLAB_LOCK := requirements/colab-lock.txt
BINDER_LOCK := requirements/binder.txt
# torch is the one package chosen per machine: a CPU build, from a local wheel folder where the
# machine has one, else PyTorch's CPU index; on a machine with an NVIDIA driver, pip's default (CUDA) build.
TORCH_CPU ?= torch==2.13.0+cpu
TORCH_WHEELS ?= /opt/wheels
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
EXTRAS ?= offline,lab,test
LAB_ARGS ?=
LOCKED := $(filter Linux-x86_64,$(shell uname -s)-$(shell uname -m))
ROOT := $(filter 0,$(shell id -u))

.PHONY: lab test unit e2e browser notebooks install lock test-colab check-python relink clean

# The Python range that TensorFlow, PyTorch and the lock's wheels support, and a working venv.
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null || { \
	  echo "make: lmcourse needs Python 3.11, 3.12 or 3.13 (TensorFlow and PyTorch publish wheels for those);"; \
	  echo "      '$(PYTHON)' is $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "not a Python here")."; \
	  echo "      Install one, e.g. 'apt install python3.12 python3.12-venv'"; \
	  echo "      or 'brew install python@3.12', then run: make lab PYTHON=python3.12"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "make: '$(PYTHON)' cannot create virtual environments: its venv/ensurepip modules are missing."; \
	  echo "      On Debian or Ubuntu: apt install python3-venv (or python3.X-venv for your version)."; exit 1; }

# $(call venv_with_torch,DIR): a virtual environment in DIR with a fitting build of torch, and uv.
define venv_with_torch
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	if ! $(1)/bin/python -c "import torch" 2>/dev/null; then \
	  if [ -e /proc/driver/nvidia/version ]; then $(1)/bin/pip install -q "torch>=2.11"; \
	  else $(1)/bin/pip install -q --find-links $(TORCH_WHEELS) "$(TORCH_CPU)" 2>/dev/null \
	    || $(1)/bin/pip install -q "torch>=2.11" --index-url $(TORCH_CPU_INDEX); fi; fi
	$(1)/bin/python -c "import uv" 2>/dev/null || $(1)/bin/pip install -q "uv>=0.9"
endef

$(STAMP): pyproject.toml $(LOCK) | check-python
	$(call venv_with_torch,$(VENV))
	$(if $(LOCKED),$(BIN)/uv pip install --python $(BIN)/python -q -r $(LOCK),\
	  echo "make: not Linux x86-64, so the newest versions in pyproject.toml's ranges are installed (the lock is for Linux)")
	$(BIN)/uv pip install --python $(BIN)/python -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (lmcourse)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

# JupyterLab refuses to run as root unless told; containers and cloud machines often are root.
# Extra options: make lab LAB_ARGS="--ip 0.0.0.0 --no-browser"
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(if $(ROOT),--allow-root) $(LAB_ARGS)

# The exact versions of everything make test, make lab and Binder install (requirements/lock.txt),
# and of the Colab-stack job (requirements/colab-lock.txt: Colab's versions, tests/colab-constraints.txt),
# for Linux x86-64 and Python 3.11, resolved against torch's CPU build, which is left out: each
# machine installs its own build.
TORCH_SOURCE = $(if $(wildcard $(TORCH_WHEELS)/torch-*.whl),--find-links $(TORCH_WHEELS),--extra-index-url $(TORCH_CPU_INDEX) --index-strategy unsafe-best-match)
UV_COMPILE = $(BIN)/uv pip compile --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --no-emit-package torch $(TORCH_SOURCE) -c requirements/.torch-cpu.txt --quiet --no-header --annotation-style line
lock: | check-python
	$(call venv_with_torch,$(VENV))
	@mkdir -p requirements
	@echo "$(TORCH_CPU)" > requirements/.torch-cpu.txt
	@{ echo "# Written by 'make lock' (uv pip compile; Linux x86-64, Python 3.11; torch left out: each machine"; \
	   echo "# installs its own build). Used by make test, make lab (on Linux x86-64) and environment.yml."; } > $(LOCK)
	$(UV_COMPILE) pyproject.toml --extra offline --extra lab --extra test >> $(LOCK)
	@{ echo "# Written by 'make lock': Colab's preinstalled versions (tests/colab-constraints.txt) and what"; \
	   echo "# the course adds to them, for 'make test-colab'."; } > $(COLAB_LOCK)
	$(UV_COMPILE) pyproject.toml --extra offline --extra test -c tests/colab-constraints.txt >> $(COLAB_LOCK)
	@{ echo "# Written by 'make lock': what Binder installs (binder/environment.yml): the course's libraries,"; \
	   echo "# TensorFlow's CPU-only build, the offline stand-in; JupyterLab comes from Binder's base image."; } > $(BINDER_LOCK)
	$(BIN)/python -m lmcourse.maintain binder-requirements | $(UV_COMPILE) - -c $(LOCK) >> $(BINDER_LOCK)
	@rm requirements/.torch-cpu.txt
	@for f in $(LOCK) $(COLAB_LOCK) $(BINDER_LOCK); do echo "Wrote $$f ($$(grep -c '==' $$f) packages)"; done

# Debian's Chromium for the browser test (tests/e2e); Playwright's own browser download fails here.
# Needs root; pytest itself never installs anything (without Chromium the browser test skips, and CI fails).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -q \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; } \
	  || echo "make browser: could not install chromium (needs root); the browser test will skip"

# The committed notebook outputs come from the offline profile; conftest.py runs the checks in it.
test: $(STAMP) browser
	$(BIN)/python -m pytest tests notebooks --nbval -q

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q --ignore=tests/e2e

# JupyterLab in headless Chromium: run each chapter, type into its widget (screenshots in artifacts/).
e2e: $(STAMP) browser
	$(BIN)/python -m pytest tests/e2e -v

# Re-run every notebook in place in the offline profile (what the committed outputs are), without
# the run's timings and widget state, so that a diff shows only what really changed.
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do \
	  LMCOURSE_PROFILE=offline $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.store_widget_state=False "$$nb" || exit 1; \
	  $(BIN)/python -m lmcourse.maintain quiet "$$nb" || exit 1; done

# Colab's preinstalled stack (requirements/colab-lock.txt: ipywidgets 7.7.1, TF 2.20 / Keras 3.13,
# transformers 5.15, datasets 4.0) in a separate environment, on a processor capped at AVX2 (most
# students' machines have no AVX-512 or AMX): the unit tests, then every notebook compared with its
# committed outputs exactly as `make test` compares them. One job proves other versions and another CPU.
COLAB_VENV ?= .venv-colab
# oneDNN on (the course's set-up turns it off unless asked), so that the cap reaches TensorFlow too.
CAPPED_CPU := ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 TF_ENABLE_ONEDNN_OPTS=1
test-colab: | check-python
	$(call venv_with_torch,$(COLAB_VENV))
	$(COLAB_VENV)/bin/uv pip install --python $(COLAB_VENV)/bin/python -q -r $(COLAB_LOCK)
	$(COLAB_VENV)/bin/uv pip install --python $(COLAB_VENV)/bin/python -q --no-deps -e .
	$(COLAB_VENV)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(COLAB_VENV)/bin/python -c "import ipywidgets, keras, tensorflow, transformers, datasets; \
	  print('Colab stack:', *(f'{m.__name__} {m.__version__}' for m in (ipywidgets, keras, tensorflow, transformers, datasets)))"
	$(CAPPED_CPU) $(COLAB_VENV)/bin/python -m pytest tests notebooks --nbval -q --ignore=tests/e2e

# Point every link, badge and Colab install at another repository or ref: make relink REPO=owner/name REF=ref
relink: | check-python
	$(PYTHON) -m lmcourse.maintain relink "$(REPO)" "$(REF)"

clean:
	rm -rf $(VENV) $(COLAB_VENV)
