"""The CUDA path's decisions, on a CPU: torch.cuda's answers are stubbed where a decision reads them.

Precision by compute capability, a confusion matrix without torch.bincount (a host sync per batch
on a GPU), latency in the run's own precision and memory format, a resume that takes back only
this GPU's random state, and cuDNN autotuning only for the shape every step repeats.
"""

import pytest
import torch
from torch import nn

import labutils.inference as inference_module
import labutils.loader as loader_module
from labutils.augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform
from labutils.data import make_fake_dataset
from labutils.errors import LabError
from labutils.inference import measure_inference
from labutils.loader import BatchLoader
from labutils.runtime.device import cudnn_autotuning
from labutils.runtime.runtime import Runtime, resolve_runtime
from labutils.test_module import evaluate
from labutils.train_module import _rng_state, _set_rng_state

CPU = torch.device("cpu")
CUDA = torch.device("cuda")


def _gpu(monkeypatch, capability: tuple[int, int], bf16_supported: bool = True) -> None:
    """torch.cuda as it answers on a GPU of ``capability`` (is_bf16_supported: true even where emulated)."""
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16_supported)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Stub GPU")


@pytest.mark.parametrize("capability, precision", [((7, 0), "fp16"), ((7, 5), "fp16"), ((8, 0), "bf16"),
                                                   ((8, 9), "bf16"), ((9, 0), "bf16")])
def test_auto_takes_bf16_only_where_the_gpu_computes_it_natively(monkeypatch, capability, precision):
    _gpu(monkeypatch, capability)
    runtime = resolve_runtime(CUDA, "auto")
    assert runtime.precision == precision
    assert runtime.loss_scaling == (precision == "fp16")
    assert runtime.choice["reason"].startswith(f"CUDA compute capability {capability[0]}.{capability[1]}")


def test_bf16_asked_for_on_a_gpu_that_emulates_it_runs_with_one_warning(monkeypatch, capsys):
    _gpu(monkeypatch, (7, 5))
    assert resolve_runtime(CUDA, "bf16").precision == "bf16"
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and "compute capability 7.5" in warning[0] and "--precision fp16" in warning[0]
    # A run started on a newer GPU (auto chose bf16) resumes on this one as it started.
    assert resolve_runtime(CUDA, "auto", saved={"precision": "bf16"}).precision == "bf16"
    assert "emulates bf16" in capsys.readouterr().err
    _gpu(monkeypatch, (8, 0))
    resolve_runtime(CUDA, "bf16")
    assert capsys.readouterr().err == ""


def test_bf16_on_a_gpu_without_it_at_all_is_refused(monkeypatch):
    _gpu(monkeypatch, (6, 1), bf16_supported=False)
    with pytest.raises(LabError, match="use --precision fp16"):
        resolve_runtime(CUDA, "bf16")
    assert resolve_runtime(CUDA, "auto").precision == "fp16"


class _Linear(nn.Module):
    """Logits from each image's mean colour: different answers for different images, no batch statistics."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.fc = nn.Linear(3, 10)

    def forward(self, x):
        return self.fc(x.mean((2, 3)) * 50)


def test_the_confusion_matrix_matches_bincount_without_calling_it_and_with_empty_shares(monkeypatch):
    data = make_fake_dataset(num_train=9)[0]
    transform = BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=False)
    model, criterion = _Linear(), nn.CrossEntropyLoss()
    runtime = Runtime(CPU)
    # Expected: bincount over every image, in one process.
    whole = BatchLoader(data, 4, transform, shuffle=False, runtime=runtime)
    cells = torch.cat([y * 10 + model(x).argmax(1) for x, y in whole])
    expected = torch.bincount(cells, minlength=100).view(10, 10)
    assert len(set(cells.tolist())) > 2  # the model tells images apart: the test compares something

    def no_bincount(*args, **kwargs):
        raise AssertionError("torch.bincount syncs with the host on a GPU")

    monkeypatch.setattr(torch, "bincount", no_bincount)
    # Two processes' shares of batches of 4, 4 and 1 image: process 1's share of the last one is empty.
    shares = [BatchLoader(data, 4, transform, shuffle=False, runtime=runtime, rank=rank, world_size=2)
              for rank in (0, 1)]
    assert [len(y) for _, y in shares[1]] == [2, 2, 0]
    scored = [evaluate(model, share, criterion, runtime) for share in shares]
    assert torch.equal(scored[0]["confusion"] + scored[1]["confusion"], expected)
    assert [s["images"] for s in scored] == [5, 4]
    assert evaluate(model, whole, criterion, runtime)["confusion"].equal(expected)


class _Recorder(nn.Module):
    """Records per call: batch size, output dtype, whether the input is channels-last, cudnn.benchmark."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.calls = []

    def forward(self, x):
        out = self.conv(x)
        self.calls.append((len(x), out.dtype, x.is_contiguous(memory_format=torch.channels_last)
                           and not x.is_contiguous(), torch.backends.cudnn.benchmark))
        return out


def _as_on_cuda(device, enabled):
    return cudnn_autotuning(CUDA, enabled)  # what the block does on a GPU, on this CPU


@pytest.mark.parametrize("precision, channels_last, dtype", [("bf16", True, torch.bfloat16),
                                                              ("fp32", False, torch.float32)])
def test_latency_is_measured_in_the_runs_precision_and_memory_format(monkeypatch, precision, channels_last,
                                                                       dtype):
    monkeypatch.setattr(inference_module, "cudnn_autotuning", _as_on_cuda)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)  # as place_model leaves it on CUDA
    model = _Recorder()
    speed = measure_inference(model, 4, 8, Runtime(CPU, precision, channels_last=channels_last), budget_s=0.01)
    sizes = {size for size, *_ in model.calls}
    assert sizes == {4, 1} and speed["inference_batch_size"] == 4
    assert {(out, last) for _, out, last, _ in model.calls} == {(dtype, channels_last)}
    # Autotuned for the lab's batch, not for the single image; as it was afterwards.
    assert {(size, benchmark) for size, *_, benchmark in model.calls} == {(4, True), (1, False)}
    assert torch.backends.cudnn.benchmark


@pytest.mark.parametrize("resident, workers", [(True, 0), (False, 0), (False, 1)])
def test_loader_autotunes_full_batches_only(monkeypatch, resident, workers):
    monkeypatch.setattr(loader_module, "cudnn_autotuning", _as_on_cuda)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    data = make_fake_dataset(num_train=10)[0]
    loader = BatchLoader(data, 4, BatchTransform(32, CIFAR10_MEAN, CIFAR10_STD, train=True), shuffle=True,
                         runtime=Runtime(CPU, resident_data=resident), workers=workers)
    seen = [(len(y), torch.backends.cudnn.benchmark) for _, y in loader]  # the flag while the batch is used
    assert seen == [(4, True), (4, True), (2, False)]
    assert not torch.backends.cudnn.benchmark
    loader.set_epoch(1, start_batch=2)
    assert [(len(y), torch.backends.cudnn.benchmark) for _, y in loader] == [(2, False)]


def test_cudnn_autotuning_sets_the_flag_on_cuda_only_and_restores_it(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    with cudnn_autotuning(CPU, False):
        assert torch.backends.cudnn.benchmark
    with pytest.raises(RuntimeError), cudnn_autotuning(CUDA, False):
        assert not torch.backends.cudnn.benchmark
        raise RuntimeError
    assert torch.backends.cudnn.benchmark


@pytest.fixture
def cuda_rng(monkeypatch):
    """torch.cuda's random state functions on a machine with GPUs 0 and 1: which state went where."""
    states = {0: torch.tensor([10], dtype=torch.uint8), 1: torch.tensor([11], dtype=torch.uint8)}

    def index(device):
        return torch.device(device).index or 0

    def every_gpu(*args):
        raise AssertionError("every visible GPU's state: a machine with fewer GPUs cannot take it back")

    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device="cuda": states[index(device)].clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device="cuda": states.update({index(device): state}))
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", every_gpu)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", every_gpu)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    return states


def test_a_checkpoint_holds_this_gpus_random_state_and_resumes_on_fewer_gpus(cuda_rng, tmp_path):
    saved = _rng_state(torch.device("cuda:1"))
    torch.save(saved, tmp_path / "rng.pt")
    saved = torch.load(tmp_path / "rng.pt", weights_only=True)
    assert saved["cuda"].tolist() == [11]
    cpu_state = torch.get_rng_state()
    torch.rand(3)
    _set_rng_state(saved, CUDA)  # resumed on a machine with one GPU
    assert cuda_rng[0].tolist() == [11] and torch.equal(torch.get_rng_state(), cpu_state)
    assert _rng_state(CPU)["cuda"] is None


def test_a_checkpoint_with_every_gpus_state_still_resumes(cuda_rng):
    old = {"cpu": torch.get_rng_state(), "cuda": [torch.tensor([20], dtype=torch.uint8),
                                                  torch.tensor([21], dtype=torch.uint8)]}
    _set_rng_state(old, torch.device("cuda:1"))
    assert cuda_rng[1].tolist() == [21]
    _set_rng_state(old, CUDA)  # the current device, 0
    assert cuda_rng[0].tolist() == [20]
    _set_rng_state({**old, "cuda": old["cuda"][:1]}, torch.device("cuda:1"))  # written with fewer GPUs
    assert cuda_rng[1].tolist() == [21]  # left as it was
