"""Batch-wise data augmentation on image tensors.

Every transform acts on a whole batch ``(n, c, h, w)`` at once with tensor
operations (no per-image Python loop) and draws its randomness from a local
:class:`torch.Generator`, so training is reproducible without touching the
global torch RNG.
"""

import torch

__all__ = ["AUGMENT_PRESETS", "TTA_MODES", "BatchAugmenter", "tta_views"]

#: What each value of ``ConvNetClassifier(augment=...)`` switches on.
AUGMENT_PRESETS = {
    "full": {"shift": 2, "flip": True, "erase": 0.5},
    "light": {"shift": 2, "flip": True, "erase": 0.0},
    "none": {"shift": 0, "flip": False, "erase": 0.0},
}

#: The values of ``ConvNetClassifier(tta=...)`` other than the booleans.
TTA_MODES = ("flip", "flip+shift")
#: One-pixel shifts ``(rows, columns)`` that ``tta="flip+shift"`` adds.
TTA_SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def shift_images(x, rows, columns, fill):
    """``x`` moved down by ``rows`` and right by ``columns`` pixels (negative:
    up, left); the uncovered border is ``fill``."""
    out = torch.full_like(x, float(fill))
    h, w = x.shape[-2:]
    src_rows = slice(max(-rows, 0), h - max(rows, 0))
    dst_rows = slice(max(rows, 0), h - max(-rows, 0))
    src_cols = slice(max(-columns, 0), w - max(columns, 0))
    dst_cols = slice(max(columns, 0), w - max(-columns, 0))
    out[..., dst_rows, dst_cols] = x[..., src_rows, src_cols]
    return out


def tta_views(x, mode, fill):
    """``(weight, view)`` pairs of the batch ``x`` whose outputs ``tta`` averages.

    ``mode`` False: ``x`` alone. True or ``"flip"``: ``x`` and its mirror
    image, half each. ``"flip+shift"``: those two (a quarter each) and the
    eight one-pixel shifts up, down, left and right of ``x`` and of its
    mirror image (a sixteenth each), so the unshifted and the shifted views
    weigh half each. The weights sum to one.
    """
    if not mode:
        return [(1.0, x)]
    mirrored = x.flip(-1)
    if mode is True or mode == "flip":
        return [(0.5, x), (0.5, mirrored)]
    views = [(0.25, x), (0.25, mirrored)]
    for rows, columns in TTA_SHIFTS:
        shifted = shift_images(x, rows, columns, fill)
        views += [(1 / 16, shifted), (1 / 16, shifted.flip(-1))]
    return views


class BatchAugmenter:
    """Random translation, horizontal flip and random erasing of a batch.

    Parameters
    ----------
    shift : int, default=2
        Maximum translation in pixels (a random crop of the image padded with
        ``fill`` on every side). 0 disables it.
    flip : bool, default=True
        Flip each image left-right with probability 1/2.
    erase : float, default=0.5
        Probability of erasing one random rectangle (2%-25% of the area,
        aspect ratio 0.3-3.3) per image with standard-normal noise
        (Zhong et al., "Random Erasing Data Augmentation", 2020).
    fill : float, default=0.0
        Value of the padding, i.e. the background of the (normalised) images.
    seed : int, default=0
        Seed of the local generator.
    """

    def __init__(self, shift=2, flip=True, erase=0.5, fill=0.0, seed=0):
        self.shift = shift
        self.flip = flip
        self.erase = erase
        self.fill = fill
        self.generator = torch.Generator().manual_seed(int(seed))

    @property
    def active(self):
        return bool(self.shift or self.flip or self.erase)

    def _rand(self, *shape):
        return torch.rand(shape, generator=self.generator)

    def __call__(self, x):
        """Return an augmented copy of the batch ``x`` of shape (n, c, h, w)."""
        if not self.active or x.shape[0] == 0:
            return x
        n, _, h, w = x.shape
        device = x.device
        if self.shift:
            x = self._translate(x, n, h, w, device)
        if self.flip:
            flip = (self._rand(n) < 0.5).to(device).view(n, 1, 1, 1)
            x = torch.where(flip, x.flip(-1), x)
        if self.erase:
            x = self._erase(x, n, h, w, device)
        return x

    def _translate(self, x, n, h, w, device):
        s = int(self.shift)
        padded = torch.nn.functional.pad(x, (s, s, s, s), value=float(self.fill))
        offsets = torch.randint(0, 2 * s + 1, (2, n), generator=self.generator)
        rows = (offsets[0].view(n, 1) + torch.arange(h)).to(device)
        cols = (offsets[1].view(n, 1) + torch.arange(w)).to(device)
        batch = torch.arange(n, device=device).view(n, 1, 1, 1)
        channel = torch.arange(x.shape[1], device=device).view(1, -1, 1, 1)
        return padded[batch, channel, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]

    def _erase(self, x, n, h, w, device):
        area = (0.02 + 0.23 * self._rand(n)) * h * w
        log_ratio = torch.log(torch.tensor(0.3)) * (1 - 2 * self._rand(n))
        ratio = torch.exp(log_ratio)
        eh = torch.sqrt(area * ratio).round().clamp(1, h).long()
        ew = torch.sqrt(area / ratio).round().clamp(1, w).long()
        top = (self._rand(n) * (h - eh + 1)).long()
        left = (self._rand(n) * (w - ew + 1)).long()
        on = self._rand(n) < self.erase
        r = torch.arange(h).view(1, h, 1)
        c = torch.arange(w).view(1, 1, w)
        mask = (
            (r >= top.view(n, 1, 1))
            & (r < (top + eh).view(n, 1, 1))
            & (c >= left.view(n, 1, 1))
            & (c < (left + ew).view(n, 1, 1))
            & on.view(n, 1, 1)
        )
        noise = torch.randn(x.shape, generator=self.generator).to(device, x.dtype)
        return torch.where(mask.unsqueeze(1).to(device), noise, x)
