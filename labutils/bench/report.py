"""The bench's printed report, built from bench.json's content: one function per table."""

from __future__ import annotations

from ..runtime.runtime import precision_label
from .settings import BenchSettings

VERDICTS = {True: "met", False: "NOT met", None: "not measured"}


def fmt(value, spec: str = ".1f", missing: str = "n/a") -> str:
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    return format(value, spec)


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(line, widths))) for line in lines)


def runtime_label(entry: dict) -> str:
    """How a measurement ran (``bf16+channels_last``), from its ``precision`` and ``memory_format``."""
    return precision_label(entry["precision"], entry["memory_format"] == "channels_last")


def _rate(entry: dict, key: str = "images_per_s") -> str:
    return fmt(entry.get(key)) if entry.get("status") == "ok" else entry.get("status", "n/a")


def settings_line(report: dict, s: BenchSettings) -> str:
    return (f"device {report['device']}, torch {report['torch']}, {s.image_size}x{s.image_size}, "
            f"ours: batch {s.batch_size}, --precision {s.precision} (per model: 'runtime' column), "
            f"{s.workers} loader workers on CPU paths; handout: batch {s.handout_batch_size}, fp32, "
            f"{s.handout_workers} PIL workers; {s.steps} timed steps ({s.handout_steps} handout) "
            f"after {s.warmup} warm-up" + (f", median of {s.repeats} runs (ours and bare alternating)"
                                          if s.repeats > 1 else ""))


def models_table(report: dict) -> str:
    """Per model: ours against the handout, FLOPs, memory, data overhead (and % of the GPU's peak)."""
    header = ["model", "params", "GFLOPs/img", "runtime", "ours img/s", "handout img/s", "speed-up", "eval img/s",
              "peak MB ours/handout", "data overhead %"]
    if report["peak_tflops"]:
        header.append("% of peak")
    rows = []
    for name, r in report["models"].items():
        ours = r["ours"]
        memory = f"{fmt(ours.get('peak_memory_mb'), '.0f')}/{fmt(r['handout'].get('peak_memory_mb'), '.0f')}"
        row = [name, f"{r['params'] / 1e6:.1f}M", f"{r['forward_gflops_per_image']:.2f}",
               runtime_label(ours) if ours["status"] == "ok" else "n/a", _rate(ours),
               _rate(r["handout"]), fmt(r["speedup"], ".1f") + ("x" if r["speedup"] else ""),
               fmt(r["eval_images_per_s"]), memory, fmt(r["data_overhead_pct"], "+.1f")]
        if report["peak_tflops"]:
            row.append(fmt(r["fraction_of_peak"] and 100 * r["fraction_of_peak"], ".1f"))
        rows.append(row)
    return table(header, rows)


def models_notes(report: dict) -> list[str]:
    """What the main table's columns mean, the augmentation's and the bare step's cost, the peak used."""
    one_core = " on one core (what a loader worker spends)" if report["device_type"] == "cpu" else ""
    bare = ", ".join(f"{name} {1000 / r['bare_step_images_per_s']:.1f}"
                     for name, r in report["models"].items() if r["bare_step_images_per_s"])
    return [("GFLOPs/img: forward pass (torch.utils.flop_counter; a training step is about 3x); "
             "data overhead: ours vs. the same step on pre-made tensors."),
            (f"our augmentation alone: {report['augmentation_ms_per_image']:.3f} ms per image{one_core}; "
             f"bare step: {bare} ms per image"),
            f"peak: {report['peak_source']}"]


def scaling_table(scaling: dict[str, list[dict]]) -> list[str]:
    """Our training images/s (and peak memory) per batch size and model; none when not swept."""
    if not scaling:
        return []
    rows = []
    for size in sorted({row["batch_size"] for rows in scaling.values() for row in rows}):
        row = [str(size)]
        for entries in scaling.values():
            entry = next((e for e in entries if e["batch_size"] == size), None)
            if entry is None:
                row.append("-")
            elif entry["status"] != "ok":
                row.append(entry["status"])
            else:
                row.append(f"{entry['images_per_s']:.1f}"
                           + (f" ({entry['peak_memory_mb']:.0f} MB)" if entry["peak_memory_mb"] else ""))
        rows.append(row)
    return ["", "our training img/s by batch size", table(["batch", *scaling], rows)]


def precision_table(precision: dict[str, list[dict]], s: BenchSettings) -> list[str]:
    """fp32 against ``--precision``'s choice per model and size; none when nothing was compared."""
    if not precision:
        return []
    rows = []
    for name, entries in precision.items():
        for row in entries:
            choice = row.get("choice") or {}
            probe = choice.get("images_per_s")
            rows.append([name, f"{row['image_size']}px", fmt(row["fp32_images_per_s"]), runtime_label(row),
                         fmt(row["chosen_images_per_s"]), fmt(row["ratio"], ".2f") + ("x" if row["ratio"] else ""),
                         " / ".join(f"{k} {v:.1f}" for k, v in probe.items()) if probe
                         else choice.get("reason", "explicit")])
    return ["", (f"fp32 against --precision {s.precision} (training img/s of our pipeline, batch "
                 f"{s.batch_size}, median of {s.repeats}; probe: the bare-step img/s it chose by, "
                 "or why none ran)"),
            table(["model", "size", "fp32", "chosen", "chosen img/s", "vs fp32", "probe"], rows)]


def profile_estimate(est: dict, s: BenchSettings) -> list[str]:
    """The profile's estimated minutes per experiment and in total, and when they do not apply."""
    out = ["", (f"'{est['profile']}' profile ({est['source']}, {est['seeds']} seed(s)) at the rates above "
                f"(batch {s.batch_size}, {s.image_size}px): epochs x (train + val) + test")]
    for name, seconds in est["seconds"].items():
        run = est["experiments"][name]
        out.append(f"  {name:<22} {seconds / 60:8.1f} min   {run['epochs']} x ({run['train_images']} + "
                   f"{run['val_images']}) + {run['test_images']} images at {run['image_size']}px")
    if est["not_measured"]:
        out.append(f"  not measured (left out of the total): {', '.join(est['not_measured'])}")
    if est["total_s"] is not None:
        out.append(f"  {'total':<22} {est['total_s'] / 60:8.1f} min ({est['total_s'] / 3600:.2f} h)")
    if s.batch_size != s.lab_batch_size:
        out.append(f"  (the lab runs batch {s.lab_batch_size} on this device; these rates are at batch {s.batch_size})")
    if any(run["image_size"] != s.image_size for run in est["experiments"].values()):
        out.append(f"  (the profile's image size differs from the {s.image_size}px measured here: "
                   "the estimate does not apply to it)")
    return out


def targets_list(targets: list[dict]) -> list[str]:
    return ["", "targets:", *(f"  {t['target']:<58} {fmt(t['value'], '.1f'):>10}  {VERDICTS[t['met']]}"
                              for t in targets)]


def format_report(report: dict) -> str:
    """The whole printed report of a finished bench (bench.json's content)."""
    s = BenchSettings.from_dict(report["settings"])
    out = [settings_line(report, s), "", models_table(report), "", *models_notes(report),
           *scaling_table(report["scaling"]), *precision_table(report["precision"], s),
           *profile_estimate(report["full_profile"], s), *targets_list(report["targets"])]
    if report.get("warning"):
        out += ["", f"warning: {report['warning']}"]
    return "\n".join(out)
