#!/usr/bin/env bash
# Run where the package registries are reachable, before a GPU check on a machine without network:
# downloads into .whl/ (git-ignored) the wheels of what a GPU image typically lacks, at
# constraints.txt's versions, with their dependencies, for CPython 3.12 on Linux x86-64.
# scripts/gpu_check.sh then installs them offline (pip install --no-index --find-links .whl).
#
# usage: scripts/gpu_wheels.sh [PIP]     (default: python3 -m pip; any pip works: nothing is installed)
set -euo pipefail
cd "$(dirname "$0")/.."
# The lab through papermill and the report (nbconvert, latex2mathml), and the notebook tests (nbval).
# The image's torch, numpy, pillow, matplotlib, jinja2, pyyaml, tqdm and pytest stay: pip downloads
# a dependency here only where one of these needs it.
LAB_PACKAGES=$(sed -n 's/^LAB_PACKAGES="\(.*\)"$/\1/p' scripts/gpu_check.sh)  # what the check installs
PACKAGES=($LAB_PACKAGES nbval)
PIP=${1:-python3 -m pip}
# torch 2.11's own wheels need glibc 2.28: an image that runs it takes manylinux_2_28 wheels too
$PIP download --quiet --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    -c constraints.txt -d .whl "${PACKAGES[@]}"
echo "$(ls .whl | wc -l) wheels, $(du -sh .whl | cut -f1) in .whl/: $(echo "${PACKAGES[@]}") and their dependencies"
