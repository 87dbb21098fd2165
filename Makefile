# Two commands do all the set-up on a fresh Linux machine (Python >= 3.11, no GPU, no hub access):
#   make lab    virtual environment + the course, then JupyterLab on notebooks/
#   make test   the same set-up, then the unit tests and strict nbval over every notebook
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lmcourse-installed
# A CPU build of torch: a local wheel where the machine has one, else PyTorch's CPU index.
# On a machine with an NVIDIA driver, pip's default (CUDA) build is used instead.
TORCH_CPU ?= torch==2.13.0+cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
EXTRAS ?= offline,lab,test

.PHONY: lab test unit notebooks install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if ! $(BIN)/python -c "import torch" 2>/dev/null; then \
	  if [ -e /proc/driver/nvidia/version ]; then $(BIN)/pip install "torch>=2.11"; \
	  else $(BIN)/pip install -q "$(TORCH_CPU)" 2>/dev/null \
	    || $(BIN)/pip install -q "torch>=2.11" --index-url $(TORCH_CPU_INDEX); fi; fi
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (lmcourse)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# The committed notebook outputs come from the offline profile, so the checks run in it.
test: $(STAMP)
	LMCOURSE_PROFILE=offline $(BIN)/python -m pytest tests notebooks --nbval \
	  --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=600 -q

unit: $(STAMP)
	LMCOURSE_PROFILE=offline $(BIN)/python -m pytest tests -q

# Re-run every notebook in place in the offline profile (what the committed outputs are).
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do \
	  LMCOURSE_PROFILE=offline $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; done

clean:
	rm -rf $(VENV)
