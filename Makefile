# make lab            set up and run the whole lab (PROFILE=full|quick|smoke, NPROC=GPUs per run), then render the report
# make test           set up and run the test suite
# make report         re-render the report from existing runs
# make bench          measure training speed against the handout's pipeline
# make gpu-check      on a CUDA machine: the benchmark and one epoch of every experiment, < 5 min
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= full
NPROC   ?= 1
BIN     := $(VENV)/bin

.PHONY: setup test lab report bench gpu-check clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt -e .
	# keep notebook outputs out of git (nbstripout as a git filter), when this is a git clone
	-git rev-parse --git-dir >/dev/null 2>&1 && $(BIN)/nbstripout --install && \
	  git config filter.nbstripout.clean "$(abspath $(BIN))/python -m nbstripout --keep-id"  # stable cell ids, small diffs
	touch $@

test: setup
	$(BIN)/python -m pytest

lab: setup
	$(BIN)/python -m labutils lab --profile $(PROFILE) --nproc-per-node $(NPROC)

report: setup
	$(BIN)/python -m labutils report --profile $(PROFILE)

bench: setup
	$(BIN)/python -m labutils bench

gpu-check:  # no setup: the script uses the machine's own CUDA torch when it has one
	bash scripts/gpu_check.sh

clean:
	rm -rf runs report/executed report/*.html report/*.pdf
