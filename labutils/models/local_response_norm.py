"""Local response normalisation with the constants of the AlexNet paper.

Krizhevsky, Sutskever & Hinton 2012 (ImageNet classification with deep convolutional neural
networks, Sec. 3.3) normalise the activity ``a`` of kernel ``i`` at one position by its
``n`` neighbouring kernels::

    b_i = a_i / (k + alpha * sum_{j = max(0, i - n/2)}^{min(N - 1, i + n/2)} a_j ** 2) ** beta

with ``k = 2, n = 5, alpha = 1e-4, beta = 0.75``.

``torch.nn.LocalResponseNorm`` averages instead of summing: it computes
``(k + alpha / n * sum) ** beta`` (Caffe's convention). The paper's layer is therefore
``nn.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0)``. The lab handout wrote
``alpha=1e-4`` in PyTorch, which is the paper's formula with ``alpha = 2e-5``: five times
weaker normalisation than the paper's.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import nn

#: The paper's constants, in the paper's convention (alpha multiplies the *sum*).
PAPER_SIZE = 5
PAPER_ALPHA = 1e-4
PAPER_BETA = 0.75
PAPER_K = 2.0

#: The handout's ``nn.LocalResponseNorm(size=5, alpha=1e-4, ...)``, in the paper's convention.
HANDOUT_ALPHA = 2e-5

#: Keyword arguments of ``nn.LocalResponseNorm`` for the paper's layer (PyTorch convention).
PAPER_LRN = MappingProxyType(
    {"size": PAPER_SIZE, "alpha": PAPER_ALPHA * PAPER_SIZE, "beta": PAPER_BETA, "k": PAPER_K}
)
#: Keyword arguments of ``nn.LocalResponseNorm`` exactly as the handout wrote them.
HANDOUT_LRN = MappingProxyType({"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0})


class LocalResponseNorm(nn.LocalResponseNorm):
    """``nn.LocalResponseNorm`` computed as five shifted sums of squares, in fp32.

    The same formula (and PyTorch's convention) as ``F.local_response_norm``, which sums the
    window with a 3-d average pooling: on a CPU that pooling was a third of a GoogLeNet
    training step in bf16 (224 px, batch 32). Slices along the channels are cheap in either
    memory format, and fp32 keeps the sum of squares exact under bf16 autocast.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x.to(torch.promote_types(x.dtype, torch.float32))
        channels = a.shape[1]
        squares = F.pad(a * a, (0, 0, 0, 0, self.size // 2, (self.size - 1) // 2))  # zeros beyond the edges
        window = sum(squares[:, j:j + channels] for j in range(self.size))
        return (a / (self.k + self.alpha / self.size * window) ** self.beta).to(x.dtype)


def paper_lrn(alpha: float = PAPER_ALPHA) -> LocalResponseNorm:
    """The paper's LRN layer (n=5, k=2, beta=0.75), with ``alpha`` as the paper defines it.

    ``alpha`` multiplies the sum of squares over the 5 neighbouring channels, as in the
    paper; it is converted here to PyTorch's convention, which divides by the window size.
    ``paper_lrn()`` is the paper's layer (PyTorch ``alpha=5e-4``);
    ``paper_lrn(HANDOUT_ALPHA)`` (2e-5) reproduces the handout's layer (PyTorch ``alpha=1e-4``).
    """
    return LocalResponseNorm(size=PAPER_SIZE, alpha=alpha * PAPER_SIZE, beta=PAPER_BETA, k=PAPER_K)
