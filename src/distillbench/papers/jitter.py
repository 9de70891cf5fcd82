"""Hinton et al.'s augmentation: every training image shifted by up to ``k`` pixels in each direction."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def jitter(images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image of ``images`` (N, C, H, W) by its own random (dy, dx) in [-k, k]^2, zeros shifted in."""
    k = int(max_shift)
    if k <= 0:
        return images
    n, c, h, w = images.shape
    dy = torch.randint(-k, k + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(-k, k + 1, (n,), generator=generator).to(images.device)
    return shift(images, dy, dx, k)


def shift(images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, pad: int) -> torch.Tensor:
    """``out[n, :, i, j] = images[n, :, i - dy[n], j - dx[n]]`` (0 outside); |dy|, |dx| <= ``pad``."""
    n, c, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dev = images.device
    rows = torch.arange(h, device=dev)[None, :] + pad - dy[:, None]  # (N, H)
    cols = torch.arange(w, device=dev)[None, :] + pad - dx[:, None]  # (N, W)
    idx_n = torch.arange(n, device=dev)[:, None, None, None]
    idx_c = torch.arange(c, device=dev)[None, :, None, None]
    return padded[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]
