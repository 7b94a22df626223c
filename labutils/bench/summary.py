"""The GPU check's summary (``scripts/gpu_check.sh``): bench.json, each run and each step, in tables.

usage: python -m labutils.bench.summary OUT_DIR RUN...
  OUT_DIR holds bench.json, runs/RUN/metrics.json, steps.tsv (the script's steps: name, exit
  status, seconds, note) and lab/ (the lab's run folders and report). Exit status 0 when the
  bench, every run, every step, every lab run and the report are complete, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..handout import HANDOUT_BATCH
from .report import VERDICTS, fmt, table


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def runs_table(bench: dict, runs: dict[str, dict]) -> str:
    """Per experiment: the bench's figures next to its one-epoch run's outcome."""
    header = ["experiment", "ours img/s", "handout img/s", "speed-up", "eval img/s", "peak MB ours",
              "% of peak", "1-epoch run", "precision", "test acc", "run wall s"]
    rows = []
    for x, m in runs.items():
        b = bench.get("models", {}).get(x, {})
        ours, handout = b.get("ours", {}), b.get("handout", {})
        frac = b.get("fraction_of_peak")
        rows.append([x, fmt(ours.get("images_per_s"), ".0f") if ours.get("status", "ok") == "ok" else ours["status"],
                     fmt(handout.get("images_per_s"), ".0f"), fmt(b.get("speedup"), ".1f"),
                     fmt(b.get("eval_images_per_s"), ".0f"), fmt(ours.get("peak_memory_mb"), ".0f"),
                     fmt(frac and 100 * frac, ".1f"), m.get("status", "missing")[:40],
                     f"{m.get('precision')} {m.get('memory_format')}", fmt(m.get("test_acc"), ".1%"),
                     fmt(m.get("wall_time_s"), ".1f")])
    return table(header, rows)


def bench_lines(bench: dict) -> list[str]:
    """The sweep, the precision table, the estimate and the targets, a line each."""
    settings = bench.get("settings", {})
    out = [(f"speed: the bench at {settings.get('image_size', 'n/a')}px, ours at batch "
            f"{settings.get('batch_size', 'n/a')} vs. the handout's batch {settings.get('handout_batch_size', HANDOUT_BATCH)} ({bench.get('peak_source', '')})"),
           ("1-epoch run: `train --dataset fake --epochs 1 --random-weights` (a few steps on generated images, "
            "all five side by side): a correctness check, not a speed figure")]
    for name, rows in (bench.get("scaling") or {}).items():
        out.append(f"scaling {name}: " + ", ".join(
            f"{r['batch_size']}: {fmt(r.get('images_per_s'), '.0f')}" if r["status"] == "ok"
            else f"{r['batch_size']}: {r['status']}" for r in rows))
    for name, rows in (bench.get("precision") or {}).items():
        out.append(f"precision {name}: " + ", ".join(
            f"{r['image_size']}px fp32 {fmt(r['fp32_images_per_s'], '.0f')} vs {r['precision']} {r['memory_format']} "
            f"{fmt(r['chosen_images_per_s'], '.0f')}" if r["status"] == "ok" else f"{r['image_size']}px: {r['status']}"
            for r in rows))
    total = bench.get("full_profile_estimate_s")
    missing = (bench.get("full_profile") or {}).get("not_measured")
    out.append(f"full profile estimate: {fmt(total and total / 60, '.1f')} min"
               + (f" (without {', '.join(missing)})" if missing else ""))
    out += [f"target: {t['target']}: {fmt(t['value'], '.1f')} -> {VERDICTS[t['met']]}"
            for t in bench.get("targets", [])]
    return out


def read_steps(out: Path) -> list[list[str]]:
    """steps.tsv's rows: name, exit status, seconds, note ([] when the script wrote none)."""
    try:
        lines = (out / "steps.tsv").read_text().splitlines()
    except OSError:
        return []
    return [(line.split("\t") + ["", "", ""])[:4] for line in lines if line.strip()]


def lab_outcome(out: Path) -> tuple[list[list[str]], bool]:
    """The lab's runs (lab/runs/PROFILE/EXPERIMENT/seedK) and its report: rows, and whether all are complete."""
    rows = [[str(m.relative_to(out / "lab" / "runs").parent), (_load(m) or {}).get("status", "unreadable")[:40]]
            for m in sorted((out / "lab" / "runs").glob("*/*/seed*/metrics.json"))]
    report = out / "lab" / "report" / "report.html"
    rows.append(["report.html", "written" if report.exists() else "missing"])
    return rows, len(rows) > 1 and all(status in ("complete", "written") for _, status in rows)


def summary(out: Path, experiments: list[str]) -> tuple[str, bool]:
    """The summary's text, and whether the bench, every run, every step, the lab and its report finished."""
    bench = _load(out / "bench.json") or {}
    runs = {x: _load(out / "runs" / x / "metrics.json") or {} for x in experiments}
    steps = read_steps(out)
    lab_rows, lab_complete = lab_outcome(out)
    steps_ok = bool(steps) and all(rc == "0" for _, rc, _, _ in steps)
    complete = (bool(bench.get("complete")) and all(m.get("status") == "complete" for m in runs.values())
                and steps_ok and lab_complete)
    title = (f"GPU check on {bench.get('device', 'n/a')}, torch {bench.get('torch', 'n/a')}, CUDA {bench.get('cuda')}"
             f"{'' if bench.get('complete') else '  (bench incomplete: cut short or failed)'}")
    return "\n".join(["", title, runs_table(bench, runs), *bench_lines(bench), "",
                      table(["step", "exit", "seconds", "note"], steps or [["(no steps recorded)", "", "", ""]]), "",
                      table(["lab run (papermill)", "status"], lab_rows),
                      f"all complete: {'yes' if complete else 'NO'}"]), complete


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m labutils.bench.summary OUT_DIR EXPERIMENT...", file=sys.stderr)
        return 2
    text, complete = summary(Path(argv[0]), argv[1:])
    print(text)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
