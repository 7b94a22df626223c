"""The original handout's training setup, as its students ran it: what this lab is measured against."""

HANDOUT_RESIZE = 256  # transforms.Resize(256): each 32x32 image scaled up before ...
HANDOUT_CROP = 224  # ... its (Random|Center)Crop(224)
HANDOUT_BATCH = 4
HANDOUT_LR = 0.001
HANDOUT_MOMENTUM = 0.9
HANDOUT_WEIGHT_DECAY = 5e-4
HANDOUT_WORKERS = 2  # a student's DataLoader (the PyTorch CIFAR-10 tutorial's value)
