#!/usr/bin/env bash
# The GPU check of the main job, in one call: on a CUDA machine without network, in under 8 minutes
# with its own set-up, it runs
#   0. set-up: the machine's torch is kept; what it lacks (papermill, nbconvert...) is installed
#      offline from .whl/ (scripts/gpu_wheels.sh, run beforehand where the registries are reachable)
#      into a venv that sees the system's packages;
#   1. `labutils bench` (short settings) -> bench.json;
#   2. one full-size epoch (224 px, batch 128) of every experiment on generated data, side by side;
#   3. the lab itself: `lab --profile scripts/gpu_check_profile.yaml` (papermill, 02_train.ipynb,
#      every experiment, 2 epochs on a few hundred generated images), then the report's HTML;
#   4. `test --checkpoint` of one run; 5. a stop (SIGINT) and `--resume`; 6. an fp16 run;
# then one summary table. Exit status 0 only when every step completed, 1 otherwise.
#
# usage: scripts/gpu_check.sh [OUT_DIR]        (default: a new temporary folder)
#        GPU_CHECK_CPU=1 scripts/gpu_check.sh   the same steps, small, on a CPU (5 min on 2 loaded cores)
#        GPU_CHECK_PYTHON=...                   a Python to use [.venv/bin/python, else python3]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# everything, set-up included: under 8 minutes on a GPU; a CPU dry run on a loaded 2-core machine
# starts ~15 Pythons that each import torch (20 s each there), so it gets longer
BUDGET_S=${GPU_CHECK_BUDGET_S:-$([ -n "${GPU_CHECK_CPU:-}" ] && echo 780 || echo 460)}
EXPERIMENTS="alexnet alexnet_lrn googlenet alexnet_pretrained googlenet_pretrained"
LAB_PACKAGES="papermill nbconvert nbformat nbclient ipykernel latex2mathml"
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}
mkdir -p "$OUT/logs" "$OUT/runs" && OUT=$(cd "$OUT" && pwd)
: >"$OUT/steps.tsv"
export PYTHONUNBUFFERED=1 PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
START=$SECONDS
left() { local s=$((BUDGET_S - (SECONDS - START))); echo $((s > 1 ? s : 1)); }  # timeout 0 would mean none
say() { printf '[gpu_check %3ds] %s\n' $((SECONDS - START)) "$*"; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$OUT/steps.tsv"; }  # step, rc, seconds, note
# step NAME COMMAND...: run it under the budget, its output in logs/NAME.log, and record how it ended
step() {
    local name=$1 t0=$SECONDS rc; shift
    say "$name"
    timeout --kill-after=10 "$(left)" "$@" >"$OUT/logs/$name.log" 2>&1
    rc=$?
    record "$name" "$rc" $((SECONDS - t0)) "$([ "$rc" -eq 124 ] && echo 'time limit')"
    [ "$rc" -eq 0 ] || { say "$name exited with $rc; last lines of logs/$name.log:"; tail -n 5 "$OUT/logs/$name.log"; }
    return "$rc"
}

# --- 0. Python: one that has torch and the lab's packages, else a venv over python3's torch ----
# find_spec, not import: importing torch and nbconvert takes a minute on a loaded CPU
need="import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in
    'torch torchvision tqdm yaml numpy PIL $LAB_PACKAGES'.split()))"
PY=${GPU_CHECK_PYTHON:-python3}  # the test passes the Python that runs it
[ -z "${GPU_CHECK_PYTHON:-}" ] && [ -x .venv/bin/python ] && PY=.venv/bin/python
if ! "$PY" -c "$need" 2>/dev/null; then
    python3 -c 'import torch, torchvision' 2>/dev/null || { say "error: python3 has no torch (make setup, or a CUDA image)"; exit 1; }
    [ -d .whl ] || { say "error: python3 lacks $LAB_PACKAGES and there is no .whl/: run scripts/gpu_wheels.sh first, where the package registries are reachable"; exit 1; }
    say "set-up: a venv seeing python3's torch, with $LAB_PACKAGES from .whl/ (offline)"
    t0=$SECONDS
    python3 -m venv --system-site-packages "$OUT/venv" &&
        timeout "$(left)" "$OUT/venv/bin/python" -m pip install -q --no-index --find-links .whl $LAB_PACKAGES \
        >"$OUT/logs/setup.log" 2>&1
    rc=$?
    record setup "$rc" $((SECONDS - t0))
    [ "$rc" -eq 0 ] || { say "error: the offline install failed (logs/setup.log):"; tail -n 5 "$OUT/logs/setup.log"; exit 1; }
    PY=$OUT/venv/bin/python
    "$PY" -c "$need" || { say "error: $PY still lacks one of torch torchvision tqdm yaml numpy PIL $LAB_PACKAGES"; exit 1; }
fi

PROFILE=$ROOT/scripts/gpu_check_profile.yaml
if [ -n "${GPU_CHECK_CPU:-}" ]; then
    # Dry run on a CPU: the same steps, small (a few images at 64 px; the bench one model, few steps).
    DEVICE=cpu
    BENCH_ARGS=(--quick --models alexnet --image-size 64 --batch-sizes 8 --precision-sizes --steps 1 --warmup 1
                --repeats 1 --handout-steps 1 --handout-workers 0)
    export OMP_NUM_THREADS=1  # five runs side by side on two cores
    TRAIN_ARGS=(--image-size 64 --train-samples 32 --val-samples 16 --test-samples 16 --batch-size 16 --workers 0)
    HALF=auto  # fp16 needs AVX512-FP16 on a CPU; auto is whatever reduced precision this one has
    PROFILE=$OUT/gpu_check_profile.yaml  # same name and runs, smaller
    "$PY" - "$ROOT/scripts/gpu_check_profile.yaml" "$PROFILE" <<'EOF' || exit 1
import sys, yaml
profile = yaml.safe_load(open(sys.argv[1]))
profile["defaults"].update(device="cpu", image_size=64, batch_size=16, train_samples=32, val_samples=16,
                           test_samples=16, workers=0)
yaml.safe_dump(profile, open(sys.argv[2], "w"))
EOF
else
    DEVICE=cuda
    BENCH_ARGS=(--warmup 5 --steps 20)  # shorter than `make bench`'s; bench.json records the settings
    TRAIN_ARGS=()
    HALF=fp16
    "$PY" - <<'EOF' || { say "error: no CUDA GPU visible to torch (set GPU_CHECK_CPU=1 for a CPU dry run)"; exit 1; }
import torch
assert torch.cuda.is_available()
print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
fi
say "python: $PY; output: $OUT"
DATA=(--dataset fake --random-weights --device "$DEVICE" ${TRAIN_ARGS[@]+"${TRAIN_ARGS[@]}"})
TRAIN=("$PY" -m labutils train "${DATA[@]}" --no-progress)

# --- 1. the benchmark ----------------------------------------------------------------------------
step bench "$PY" -m labutils bench --device "$DEVICE" "${BENCH_ARGS[@]}" --out "$OUT/bench.json"

# --- 2. one full-size epoch of every experiment, side by side ----------------------------------
say "one epoch of each experiment on generated data"
t0=$SECONDS
pids=()
for x in $EXPERIMENTS; do
    timeout --kill-after=10 "$(left)" "${TRAIN[@]}" --experiment "$x" --epochs 1 --out "$OUT/runs/$x" --force \
        >"$OUT/logs/$x.log" 2>&1 &
    pids+=($!)
done
i=0
for x in $EXPERIMENTS; do
    wait "${pids[$i]}"; rc=$?; i=$((i + 1))
    record "epoch $x" "$rc" $((SECONDS - t0))
    [ "$rc" -eq 0 ] || { say "$x exited with $rc; last lines of logs/$x.log:"; tail -n 5 "$OUT/logs/$x.log"; }
done

# --- 3. the lab itself: papermill runs 02_train.ipynb per experiment, then the report -------------
step lab "$PY" -m labutils lab --profile "$PROFILE" --runs "$OUT/lab/runs" --report-dir "$OUT/lab/report"

# --- 4. test --checkpoint of one run --------------------------------------------------------------
step test "$PY" -m labutils test "${DATA[@]}" --experiment alexnet --checkpoint "$OUT/runs/alexnet/best.pt"

# --- 5. a stop (SIGINT) after the first epoch, then --resume ----------------------------------------
say "stop: SIGINT after the first epoch, then --resume"
t0=$SECONDS
RESUME=(--experiment alexnet --epochs 10 --out "$OUT/runs/resume")
timeout --kill-after=10 "$(left)" "${TRAIN[@]}" "${RESUME[@]}" --force >"$OUT/logs/stop.log" 2>&1 &  # passes SIGINT on
pid=$!
until [ -s "$OUT/runs/resume/history.csv" ] || ! kill -0 "$pid" 2>/dev/null || [ "$(left)" -le 5 ]; do sleep 0.1; done
kill -INT "$pid" 2>/dev/null
wait "$pid"; rc=$?
record stop "$([ "$rc" -eq 130 ] && echo 0 || echo "$rc")" $((SECONDS - t0)) "exit $rc (130 expected)"
step resume "${TRAIN[@]}" "${RESUME[@]}" --resume

# --- 6. a reduced-precision run (fp16 with loss scaling on the GPU) --------------------------------
step "$HALF" "${TRAIN[@]}" --experiment alexnet --epochs 1 --precision "$HALF" --out "$OUT/runs/$HALF" --force

# --- the summary: bench.json, the runs and the steps; exits 1 unless all of it completed ----------
"$PY" -m labutils.bench.summary "$OUT" $EXPERIMENTS resume "$HALF"
status=$?
say "done in $((SECONDS - START))s; figures in $OUT/bench.json, logs in $OUT/logs"
exit $status
