# Two commands do all the set-up on a fresh Linux machine (Python >= 3.11, no GPU, no hub access):
#   make lab    virtual environment + the course, then JupyterLab on notebooks/
#   make test   the same set-up, then the unit tests, the browser test and strict nbval over every notebook
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lmcourse-installed
# A CPU build of torch: a local wheel where the machine has one, else PyTorch's CPU index.
# On a machine with an NVIDIA driver, pip's default (CUDA) build is used instead.
TORCH_CPU ?= torch==2.13.0+cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
EXTRAS ?= offline,lab,test

.PHONY: lab test unit e2e browser notebooks install test-colab clean

# $(call venv_with_torch,DIR): a virtual environment in DIR holding a fitting build of torch.
define venv_with_torch
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	if ! $(1)/bin/python -c "import torch" 2>/dev/null; then \
	  if [ -e /proc/driver/nvidia/version ]; then $(1)/bin/pip install "torch>=2.11"; \
	  else $(1)/bin/pip install -q "$(TORCH_CPU)" 2>/dev/null \
	    || $(1)/bin/pip install -q "torch>=2.11" --index-url $(TORCH_CPU_INDEX); fi; fi
endef

$(STAMP): pyproject.toml
	$(call venv_with_torch,$(VENV))
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (lmcourse)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Debian's Chromium for the browser test (tests/e2e); Playwright's own browser download fails here.
# Needs root; without it the browser test skips and says why.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -q \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; } \
	  || echo "make browser: could not install chromium; the browser test will skip"

# The committed notebook outputs come from the offline profile, so the checks run in it.
test: $(STAMP) browser
	LMCOURSE_PROFILE=offline $(BIN)/python -m pytest tests notebooks --nbval \
	  --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=600 -q

unit: $(STAMP)
	LMCOURSE_PROFILE=offline $(BIN)/python -m pytest tests -q --ignore=tests/e2e

# JupyterLab in headless Chromium: run each chapter, type into its widget (screenshots in artifacts/).
e2e: $(STAMP) browser
	LMCOURSE_PROFILE=offline $(BIN)/python -m pytest tests/e2e -v

# Re-run every notebook in place in the offline profile (what the committed outputs are).
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do \
	  LMCOURSE_PROFILE=offline $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; done

# Colab's preinstalled stack (tests/colab-constraints.txt: ipywidgets 7.7.1, TF 2.20 / Keras 3.13,
# transformers 5.15, datasets 4.0) in a separate environment: the unit tests, then every notebook
# run top to bottom (--nbval-lax: no errors; outputs are compared in `make test`).
COLAB_VENV ?= .venv-colab
test-colab:
	$(call venv_with_torch,$(COLAB_VENV))
	$(COLAB_VENV)/bin/pip install -q -c tests/colab-constraints.txt -e ".[offline,test]"
	$(COLAB_VENV)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(COLAB_VENV)/bin/python -c "import ipywidgets, keras, tensorflow, transformers, datasets; \
	  print('Colab stack:', *(f'{m.__name__} {m.__version__}' for m in (ipywidgets, keras, tensorflow, transformers, datasets)))"
	LMCOURSE_PROFILE=offline $(COLAB_VENV)/bin/python -m pytest tests -q --ignore=tests/e2e
	LMCOURSE_PROFILE=offline $(COLAB_VENV)/bin/python -m pytest notebooks --nbval-lax --nbval-cell-timeout=600 -q

clean:
	rm -rf $(VENV) $(COLAB_VENV)
