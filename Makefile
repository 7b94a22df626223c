# make lab            set up and run the whole lab (PROFILE=full|quick|smoke, NPROC=GPUs per run), then render the report
# make test           set up and run the test suite
# make report         re-render the report from existing runs
# make bench          measure training speed against the handout's pipeline
# make gpu-check      on a CUDA machine: the bench, every experiment, the lab through papermill, < 8 min
#                     (first, where there is network: make gpu-wheels)
# make setup TORCH=auto|system|lock   auto (default): keep python3's torch when it is in pyproject's
#                     range (a venv that sees python3's packages), else constraints.txt's exact versions
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= full
NPROC   ?= 1
TORCH   ?= auto
BIN     := $(VENV)/bin

.PHONY: setup test lab report bench gpu-check gpu-wheels clean

setup: $(VENV)/.installed

# to change TORCH after a set-up: rm -rf $(VENV), then make setup TORCH=...
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml scripts/setup_venv.py
	$(PYTHON) scripts/setup_venv.py --python $(PYTHON) --venv $(VENV) --torch $(TORCH)
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

gpu-check:  # no setup: the machine's own CUDA torch, and .whl/ for the rest (GPU_CHECK_CPU=1: a CPU dry run)
	bash scripts/gpu_check.sh

gpu-wheels:  # where the package registries are reachable: what gpu-check installs offline, into .whl/
	bash scripts/gpu_wheels.sh

clean:
	rm -rf runs report/executed report/*.html report/*.pdf
