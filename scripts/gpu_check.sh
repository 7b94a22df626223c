#!/usr/bin/env bash
# The GPU check: on a CUDA machine with nothing downloaded, in under 5 minutes,
#   1. `python -m labutils bench`: the speed figures (ours vs. the handout's pipeline, FLOPs,
#      batch-size sweep, estimated time of the full profile) -> bench.json;
#   2. one epoch of every lab experiment at full size (224x224, the lab's batch of 128) on
#      generated data (`--dataset fake --random-weights`: 900 train / 100 val / 200 test
#      images, 32x32 upscaled to 224, about 8 steps). This checks that each experiment trains,
#      validates, tests and writes its run folder on the GPU; with so few steps (cuDNN
#      autotuning included) its images/s is NOT a speed figure - the bench is;
# then prints one summary table.
#
# usage: scripts/gpu_check.sh [OUT_DIR]        (default: a new temporary folder)
#        GPU_CHECK_CPU=1 scripts/gpu_check.sh   a small dry run of the same steps on a CPU
# Exit status: 0 when every step finished and every run is complete, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

BUDGET_S=${GPU_CHECK_BUDGET_S:-280}       # everything, installs and kill grace included, under 5 minutes
TRAIN_RESERVE_S=${GPU_CHECK_TRAIN_S:-100} # kept for the five training runs (they run side by side)
EXPERIMENTS="alexnet alexnet_lrn googlenet alexnet_pretrained googlenet_pretrained"
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}
mkdir -p "$OUT/logs" "$OUT/runs"
export PYTHONUNBUFFERED=1
START=$SECONDS
left() { local s=$((BUDGET_S - (SECONDS - START))); echo $((s > 1 ? s : 1)); }  # timeout 0 would mean none
say() { printf '[gpu_check %3ds] %s\n' $((SECONDS - START)) "$*"; }

# --- Python: the repo's .venv, else python3 when it has what labutils needs, else a venv -------
need='import torch, torchvision, tqdm, numpy, PIL'
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
if ! "$PY" -c "$need" 2>/dev/null; then
    if python3 -c 'import torch, torchvision' 2>/dev/null; then
        # Keep the machine's own torch (a CUDA build that matches its driver): install only the
        # small pure-Python packages, at requirements.txt's versions, into a venv that sees it.
        say "python3 has torch but not tqdm: making $OUT/venv (seeing the system's packages)"
        python3 -m venv --system-site-packages "$OUT/venv" || exit 1
        PY=$OUT/venv/bin/python
        timeout "$(left)" "$PY" -m pip install -q $(grep -iE '^(tqdm|pyyaml)==' requirements.txt) || exit 1
    else
        say "no torch here: making $OUT/venv and installing requirements.txt (a few minutes)"
        python3 -m venv "$OUT/venv" || exit 1
        PY=$OUT/venv/bin/python
        timeout "$(left)" "$PY" -m pip install -q -r requirements.txt || exit 1
    fi
fi
"$PY" -c "$need" || { say "error: $PY cannot import torch/torchvision/tqdm"; exit 1; }

if [ -n "${GPU_CHECK_CPU:-}" ]; then
    # Dry run on a CPU: the same steps, made small (smallest input, a few images).
    DEVICE=cpu
    BENCH_ARGS=(--quick --models alexnet googlenet --image-size 64 --batch-sizes 4 8 --precision-sizes 64)
    TRAIN_ARGS=(--image-size 64 --train-samples 32 --val-samples 16 --test-samples 16 --batch-size 16)
else
    DEVICE=cuda
    # All five models and the sweep, with a shorter warm-up than `make bench` (cuDNN autotunes
    # in the first step of each shape) to stay inside the budget; bench.json records the settings.
    BENCH_ARGS=(--warmup 5 --steps 20)
    TRAIN_ARGS=()
    "$PY" - <<'EOF' || { say "error: no CUDA GPU visible to torch (set GPU_CHECK_CPU=1 for a CPU dry run)"; exit 1; }
import torch
assert torch.cuda.is_available()
print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
fi
say "python: $PY; output: $OUT"

# --- 1. the benchmark -----------------------------------------------------------------------
status=0
bench_s=$(( $(left) - TRAIN_RESERVE_S )); [ "$bench_s" -gt 10 ] || bench_s=10
say "bench (at most ${bench_s}s)"
timeout --kill-after=10 "$bench_s" "$PY" -m labutils bench --device "$DEVICE" ${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"} \
    --out "$OUT/bench.json" 2>&1 | tee "$OUT/logs/bench.log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || { say "bench exited with $rc$([ "$rc" -eq 124 ] && echo ' (time limit)')"; status=1; }

# --- 2. one full-size epoch of every experiment, side by side on the one GPU ----------------
train_s=$(( $(left) - 10 )); [ "$train_s" -gt 10 ] || train_s=10
say "one epoch of each experiment on generated data, in parallel (at most ${train_s}s)"
pids=()
for x in $EXPERIMENTS; do
    timeout --kill-after=10 "$train_s" "$PY" -m labutils train --experiment "$x" --dataset fake --epochs 1 \
        --random-weights --device "$DEVICE" --no-progress ${TRAIN_ARGS[@]+"${TRAIN_ARGS[@]}"} --out "$OUT/runs/$x" --force \
        >"$OUT/logs/$x.log" 2>&1 &
    pids+=($!)
done
i=0
for x in $EXPERIMENTS; do
    wait "${pids[$i]}"
    rc=$?
    i=$((i + 1))
    if [ "$rc" -ne 0 ]; then
        status=1
        say "$x exited with $rc$([ "$rc" -eq 124 ] && echo ' (time limit)'); last lines of its log:"
        tail -n 5 "$OUT/logs/$x.log"
    fi
done

# --- 3. one summary table ------------------------------------------------------------------
# Built by the bench's own code (labutils/bench/summary.py); exits 1 unless the bench and every run completed.
"$PY" -m labutils.bench.summary "$OUT" $EXPERIMENTS || status=1
say "done in $((SECONDS - START))s; figures in $OUT/bench.json, logs in $OUT/logs"
exit $status
