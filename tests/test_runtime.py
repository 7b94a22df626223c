"""The runtime: one decision per run (precision, memory format, data placement, host reads), and auto's probe."""

import pytest
import torch
from torch import nn

import labutils.runtime.runtime as runtime_module
from labutils.errors import LabError
from labutils.experiment import RunConfig
from labutils.runtime.runtime import (
    CPU_SYNC_EVERY,
    PROBE_MARGIN,
    PROBE_MIN_RUN_STEPS,
    ProbeTarget,
    Runtime,
    probe_precision,
    resolve_runtime,
)
from labutils.train_module import training_loss

CPU = torch.device("cpu")


class _SmallConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


def _target(run_steps=10 * PROBE_MIN_RUN_STEPS):
    return ProbeTarget(_SmallConvNet(), nn.CrossEntropyLoss(), training_loss, batch_size=4, image_size=16,
                       run_steps=run_steps)


def test_cpu_defaults_are_resident_images_in_fp32_and_workers_on_request():
    runtime = resolve_runtime(CPU, "fp32")
    assert runtime == Runtime(CPU, "fp32", channels_last=False, resident_data=True, sync_every=CPU_SYNC_EVERY)
    assert runtime.autocast_dtype is None and not runtime.loss_scaling
    assert runtime.options() == {"precision": "fp32", "memory_format": "contiguous", "data_placement": "resident",
                                 "host_sync_every": CPU_SYNC_EVERY}
    assert not resolve_runtime(CPU, "fp32", data_placement="workers").resident_data


def test_the_cuda_shaped_path_is_selectable_on_a_cpu():
    runtime = resolve_runtime(CPU, "bf16", None, "resident", 4)
    assert (runtime.precision, runtime.channels_last, runtime.resident_data, runtime.sync_every) == ("bf16", True, True, 4)
    conv = nn.Conv2d(3, 4, 3).to(memory_format=runtime.memory_format)
    x = torch.randn(2, 3, 8, 8).contiguous(memory_format=runtime.memory_format)
    with runtime.autocast():
        y = conv(x)
    assert y.dtype == torch.bfloat16
    assert resolve_runtime(CPU, "bf16", "contiguous").memory_format == torch.contiguous_format


@pytest.mark.parametrize("options, message", [
    ({"precision": "fp8"}, "auto, fp32, bf16, fp16"),
    ({"memory_format": "nhwc"}, "channels_last, contiguous"),
    ({"data_placement": "gpu"}, "resident, workers"),
    ({"host_sync_every": 0}, "1 or more"),
])
def test_bad_options_are_refused_before_anything_loads(options, message):
    with pytest.raises(LabError, match=message):
        RunConfig.from_dict({"experiment": "alexnet", **options})


def test_fp16_on_a_cpu_without_fp16_units_is_refused(monkeypatch):
    monkeypatch.setattr(runtime_module, "cpu_supports", lambda precision: precision == "fp32")
    with pytest.raises(LabError, match="no fp16 units.*--precision bf16"):
        resolve_runtime(CPU, "fp16")


def test_auto_without_bf16_units_or_for_a_short_run_is_fp32_without_probing(monkeypatch):
    runtime = resolve_runtime(CPU, "auto", probe=_target(run_steps=PROBE_MIN_RUN_STEPS - 1))
    assert runtime.precision == "fp32" and not runtime.channels_last
    assert runtime.choice["requested"] == "auto" and "images_per_s" not in runtime.choice
    assert "short run" in runtime.choice["reason"] or "no bf16" in runtime.choice["reason"]
    monkeypatch.setattr(runtime_module, "cpu_supports", lambda precision: precision == "fp32")
    runtime = resolve_runtime(CPU, "auto", probe=_target())
    assert runtime.precision == "fp32" and "no bf16 units" in runtime.choice["reason"]


def test_the_probe_times_every_candidate_and_keeps_fp32_unless_another_is_clearly_faster(capsys):
    target = _target()
    before = [p.detach().clone() for p in target.model.parameters()]
    rng = torch.get_rng_state()
    result = probe_precision(target, CPU)
    rates, speedup = result["images_per_s"], result["speedup"]
    assert set(rates) == set(speedup) == {"fp32", "bf16", "bf16+channels_last"} and all(r > 0 for r in rates.values())
    assert speedup["fp32"] == 1.0
    if result["chosen"] == "fp32":
        assert max(speedup.values()) < PROBE_MARGIN
    else:
        assert speedup[result["chosen"]] == max(speedup.values()) >= PROBE_MARGIN
    assert result["precision"] + ("+channels_last" if result["memory_format"] == "channels_last" else "") == \
        result["chosen"]
    # It measured copies: the network and the random state are as they were.
    assert all(torch.equal(a, b) for a, b in zip(before, target.model.parameters()))
    assert torch.equal(torch.get_rng_state(), rng)
    line = capsys.readouterr().out.strip()
    assert line.startswith("precision auto: fp32 ") and line.endswith(f"-> {result['chosen']}")


def test_the_probe_interleaves_candidates_and_stops_timing_one_clearly_slower():
    calls = []

    def step(label, seconds):
        return lambda: calls.append(label) or seconds

    seconds = runtime_module._interleaved_seconds(
        {"fp32": step("fp32", 1.0), "bf16": step("bf16", 1.6), "bf16+channels_last": step("cl", 0.5)})
    rounds = runtime_module.PROBE_ROUNDS
    assert calls[:3] == ["fp32", "bf16", "cl"]  # warm-up steps
    assert calls[3:6] == ["fp32", "bf16", "cl"] and calls[6:] == ["fp32", "cl"] * (rounds - 1)
    assert seconds == {"fp32": [1.0] * rounds, "bf16": [1.6], "bf16+channels_last": [0.5] * rounds}
    # Fast steps are timed for more rounds, up to a limit, so that a probe is not a handful of ms.
    fast = runtime_module._interleaved_seconds({"fp32": lambda: 1e-4, "bf16": lambda: 1e-4})
    assert len(fast["fp32"]) == len(fast["bf16"]) == runtime_module.PROBE_MAX_ROUNDS


@pytest.mark.skipif(not runtime_module.cpu_supports("bf16"), reason="this CPU has no bf16 units: auto does not probe")
def test_auto_on_a_cpu_with_bf16_units_runs_on_what_the_probe_chose():
    runtime = resolve_runtime(CPU, "auto", probe=_target())
    choice = runtime.choice
    assert set(choice["images_per_s"]) == {"fp32", "bf16", "bf16+channels_last"}
    assert (runtime.precision, runtime.channels_last) == (choice["precision"], choice["memory_format"] == "channels_last")


def test_a_resumed_run_keeps_its_precision_and_refuses_another():
    saved = {"precision": "bf16", "memory_format": "channels_last"}
    runtime = resolve_runtime(CPU, "auto", probe=_target(), saved=saved)
    assert (runtime.precision, runtime.channels_last) == ("bf16", True)
    assert "images_per_s" not in runtime.choice and "resumed" in runtime.choice["reason"]  # no new probe
    with pytest.raises(LabError, match="started with --precision bf16.*--force"):
        resolve_runtime(CPU, "fp32", saved=saved)
    with pytest.raises(LabError, match="--memory-format channels_last"):
        resolve_runtime(CPU, "auto", "contiguous", saved=saved)
