"""The handout's transforms on whole batches (augment.py): resize, crop, flip, normalise."""

import torch

from labutils.augment import CIFAR10_MEAN, CIFAR10_STD, BatchTransform
from labutils.data import make_fake_dataset


def test_eval_transform_is_a_centre_crop_of_the_upscaled_image():
    # A 32x32 image whose left and right quarters differ: the centre crop keeps 7/8 of it.
    image = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    image[..., 16:] = 255
    t = BatchTransform(224, (0, 0, 0), (1 / 255, 1 / 255, 1 / 255), train=False)
    out = t(image)
    assert out.shape == (1, 3, 224, 224)
    assert out[0, 0, 100, 0] == 0 and out[0, 0, 100, 223] == 255
    assert torch.allclose(out[0, 0, :, 105], torch.zeros(224), atol=1e-3)
    assert torch.allclose(out[0, 0, :, 118], torch.full((224,), 255.0), atol=1e-3)


def test_train_transform_normalises_flips_and_crops_at_random():
    images = make_fake_dataset(num_train=64)[0].images
    t = BatchTransform(64, CIFAR10_MEAN, CIFAR10_STD, train=True)
    a = t(images, torch.Generator().manual_seed(0))
    b = t(images, torch.Generator().manual_seed(0))
    c = t(images, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (64, 3, 64, 64)
    assert abs(float(a.mean())) < 1.5 and 0.3 < float(a.std()) < 3
    # a horizontally uniform image is unchanged by flips and crops: only normalisation shows
    flat = torch.full((2, 3, 32, 32), 128, dtype=torch.uint8)
    out = t(flat, torch.Generator().manual_seed(0))
    expected = (128 / 255 - torch.tensor(CIFAR10_MEAN)) / torch.tensor(CIFAR10_STD)
    assert torch.allclose(out.mean((0, 2, 3)), expected.float(), atol=1e-4)
