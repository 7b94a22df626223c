"""Bad input on the command line: one clear line on stderr, exit status 2, nothing that looks complete."""

import urllib.error

import pytest
import torch
from PIL import Image

from labutils.__main__ import main
from labutils.models import AlexNet
from labutils.run_folder import RunFolder

FAKE = ["--dataset", "fake", "--image-size", "64", "--epochs", "1", "--batch-size", "8",
        "--train-samples", "16", "--val-samples", "8", "--test-samples", "8", "--workers", "0", "--no-progress"]


def _fails(capsys, argv, *expected):
    """Run the CLI; it must exit 2 with one line on stderr containing every ``expected`` piece."""
    with pytest.raises(SystemExit) as exited:
        code = main(argv)
        raise SystemExit(code)
    # torch.hub's own 'Downloading: "url" to file' goes to stderr in torch 2.4, to stdout in 2.14
    err = "\n".join(line for line in capsys.readouterr().err.strip().splitlines()
                    if not line.startswith('Downloading: "'))
    assert exited.value.code == 2, err
    assert len(err.splitlines()) == 1, err
    for piece in expected:
        assert piece in err, err
    return err


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr("torchvision.datasets.utils.download_url", no_network)
    monkeypatch.setattr("torch.hub.download_url_to_file", no_network)


def test_unknown_experiment_lists_the_valid_ones(capsys):
    _fails(capsys, ["train", "--experiment", "alexnet_lrm", *FAKE],
           "unknown experiment 'alexnet_lrm'", "alexnet, alexnet_lrn, googlenet", "did you mean 'alexnet_lrn'")


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "must be a positive number"),
    ("--batch-size", "0", "must be a positive number"),
    ("--epochs", "ten", "expected a whole number"),
    ("--val-fraction", "1.5", "between 0 and 1"),
    ("--val-fraction", "0", "must be positive"),
    ("--lr", "-0.1", "must be positive"),
    ("--workers", "-1", "must be 0 or more"),
    ("--dataset", "mnist", "invalid choice"),
    ("--precision", "fp8", "invalid choice"),
    ("--host-sync-every", "0", "must be a positive"),
])
def test_bad_values_are_refused_before_any_work(capsys, tmp_path, option, value, message):
    _fails(capsys, ["train", "--experiment", "alexnet", "--out", str(tmp_path / "run"), *FAKE, option, value],
           option, message)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("experiment, minimum", [("alexnet", 63), ("googlenet", 63), ("googlenet_pretrained", 63)])
def test_image_size_below_the_models_minimum(capsys, tmp_path, experiment, minimum):
    _fails(capsys, ["train", "--experiment", experiment, *FAKE, "--image-size", "32", "--random-weights",
                    "--out", str(tmp_path / "run")], f"at least {minimum}x{minimum}", "--image-size")


def test_resume_and_force_together(capsys, tmp_path):
    _fails(capsys, ["train", "--experiment", "alexnet", *FAKE, "--resume", "--force", "--out", str(tmp_path)],
           "--resume", "--force")


def test_missing_cifar10_offline_says_where_to_put_it(capsys, tmp_path):
    _fails(capsys, ["train", "--experiment", "alexnet", "--data-root", str(tmp_path), "--out", str(tmp_path / "run")],
           "cifar-10-python.tar.gz", str(tmp_path))


def test_image_folder_with_a_single_class(capsys, tmp_path):
    for part in ("train", "test"):
        (tmp_path / part / "cat").mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / part / "cat" / "0.png")
    _fails(capsys, ["train", "--experiment", "alexnet", "--dataset", "imagefolder", "--data-root", str(tmp_path),
                    "--out", str(tmp_path / "run")], "only one class")


def test_missing_pretrained_weights_name_the_file_and_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    _fails(capsys, ["train", "--experiment", "googlenet_pretrained", *FAKE, "--out", str(tmp_path / "run")],
           "googlenet-1378be20.pth", str(tmp_path / "hub" / "checkpoints"), "--random-weights")


def test_corrupt_checkpoint(capsys, tmp_path):
    bad = tmp_path / "best.pt"
    bad.write_bytes(b"\x80\x02 truncated")
    _fails(capsys, ["test", "--experiment", "alexnet", "--checkpoint", str(bad), *FAKE[:4]], "corrupted", str(bad))


def test_checkpoint_of_another_architecture(capsys, tmp_path):
    ckpt = tmp_path / "alexnet.pt"
    torch.save({"model": AlexNet().state_dict(), "experiment": "alexnet"}, ckpt)
    _fails(capsys, ["test", "--experiment", "googlenet", "--checkpoint", str(ckpt), *FAKE[:4]],
           "trained as 'alexnet'", "--experiment alexnet")
    torch.save({"model": AlexNet().state_dict()}, ckpt)  # no name stored: the weights must still not fit
    _fails(capsys, ["test", "--experiment", "googlenet", "--checkpoint", str(ckpt), *FAKE[:4]],
           "does not fit the 'googlenet' architecture")


def test_checkpoint_given_as_a_folder_asks_for_a_file(capsys, tmp_path):
    torch.save({"model": AlexNet().state_dict(), "experiment": "alexnet"}, tmp_path / "best.pt")
    err = _fails(capsys, ["test", "--experiment", "alexnet", "--checkpoint", str(tmp_path), *FAKE[:4]],
                 "is a folder", str(tmp_path / "best.pt"))
    assert "corrupted" not in err


def test_checkpoint_with_another_number_of_classes_says_so(capsys, tmp_path):
    ckpt = tmp_path / "five.pt"
    torch.save({"model": AlexNet(num_classes=5).state_dict(), "experiment": "alexnet"}, ckpt)
    err = _fails(capsys, ["test", "--experiment", "alexnet", "--checkpoint", str(ckpt), *FAKE[:4]],
                 "trained for 5 classes", "have 10", "--dataset")
    assert "same experiment" not in err


@pytest.mark.parametrize("content", [{"model": 5}, {"model": {"w": 5}}, [1, 2]])
def test_checkpoint_without_weights_is_one_line(capsys, tmp_path, content):
    ckpt = tmp_path / "odd.pt"
    torch.save(content, ckpt)
    _fails(capsys, ["test", "--experiment", "alexnet", "--checkpoint", str(ckpt), *FAKE[:4]],
           str(ckpt), "holds no model weights")


def test_corrupt_resume_checkpoint(capsys, tmp_path):
    run = RunFolder(tmp_path)
    run.mark("interrupted: test")
    run.last.write_bytes(b"garbage")
    _fails(capsys, ["train", "--experiment", "alexnet", *FAKE, "--resume", "--out", str(tmp_path)],
           "corrupted", "--force")


def test_diverging_loss_stops_at_once_and_names_the_step(capsys, tmp_path):
    _fails(capsys, ["train", "--experiment", "alexnet", *FAKE, "--lr", "1e12", "--out", str(tmp_path)],
           "epoch 1, step", "--lr")
    assert RunFolder(tmp_path).status().startswith("failed")


def test_out_of_memory_suggests_a_smaller_batch(capsys, tmp_path, monkeypatch):
    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("labutils.train_module.training_loss", oom)
    _fails(capsys, ["train", "--experiment", "alexnet", *FAKE, "--out", str(tmp_path)],
           "out of memory", "--batch-size 4")
    assert RunFolder(tmp_path).status().startswith("failed")


def test_test_command_scores_a_trained_checkpoint(capsys, tmp_path):
    assert main(["train", "--experiment", "alexnet", *FAKE, "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["test", "--experiment", "alexnet", "--checkpoint", str(tmp_path / "best.pt"), *FAKE[:4],
                 "--test-samples", "8"]) == 0
    out = capsys.readouterr().out
    expected = RunFolder(tmp_path).read_metrics()["test_acc"]
    assert f"acc {expected:.2%}" in out
