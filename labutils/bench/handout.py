"""The handout's training loop, timed: what the lab's pipeline is compared with.

Torchvision transforms on PIL images in a ``DataLoader`` (Resize(256), RandomCrop(224),
RandomHorizontalFlip, ToTensor, Normalize), batch 4, fp32, SGD(lr 0.001, momentum 0.9,
weight decay 5e-4), the loss read with ``.item()`` every step.
"""

from __future__ import annotations

import statistics

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from .. import models
from ..augment import CROP_FRACTION, IMAGENET_MEAN, IMAGENET_STD
from ..data import ImageSet, make_fake_dataset
from ..handout import HANDOUT_BATCH, HANDOUT_LR, HANDOUT_MOMENTUM, HANDOUT_WEIGHT_DECAY
from ..runtime.device import peak_memory_mb
from ..test_module import main_logits
from ..train_module import training_loss
from .timing import TimedBatches, free_memory


class HandoutImages(Dataset):
    """The handout's data path: one image at a time, uint8 HWC array -> PIL -> torchvision transforms
    (what ``torchvision.datasets.CIFAR10`` with ``transform=`` does)."""

    def __init__(self, data: ImageSet, transform) -> None:
        self.images = data.images.permute(0, 2, 3, 1).numpy()  # CIFAR10.data's layout
        self.labels = data.labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(Image.fromarray(self.images[index])), self.labels[index]


def handout_transform(image_size: int):
    return transforms.Compose([
        transforms.Resize(round(image_size / CROP_FRACTION)),  # 256 at 224
        transforms.RandomCrop(image_size),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
    ])


def measure_handout(experiment: str, device: torch.device, image_size: int, warmup: int, steps: int,
                    workers: int, batch_size: int = HANDOUT_BATCH, repeats: int = 1) -> dict:
    """Training images/s and peak memory of the handout's loop: fp32, contiguous tensors, no cuDNN
    autotuning, the loss read on the host every step; the median of ``repeats`` epochs."""
    free_memory(device)
    torch.backends.cudnn.benchmark = False  # the handout never turns it on
    model = models.build_model(experiment, random_weights=True).to(device)
    data, _ = make_fake_dataset(num_train=batch_size * (warmup + steps), num_test=1)
    loader = DataLoader(HandoutImages(data, handout_transform(image_size)), batch_size=batch_size,
                        shuffle=True, num_workers=workers)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=HANDOUT_LR, momentum=HANDOUT_MOMENTUM,
                                weight_decay=HANDOUT_WEIGHT_DECAY)
    model.train()
    rates = []
    for _ in range(repeats):
        timed = TimedBatches(loader, warmup, device)
        running_loss, running_corrects = 0.0, 0
        for inputs, labels in timed:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = training_loss(outputs, labels, criterion)  # main + 0.3 x each side classifier, as the handout
            preds = main_logits(outputs).argmax(1)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            running_corrects += torch.sum(preds == labels)
        rates.append(timed.images_per_s)
    result = {"batch_size": batch_size, "workers": workers, "images_per_s": statistics.median(rates),
              "peak_memory_mb": peak_memory_mb(device)}
    if repeats > 1:
        result["all_repeats"] = rates
    return result
