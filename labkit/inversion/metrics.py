"""How close a reconstruction is to the private images: PSNR, SSIM, label accuracy.

A batch attack returns its reconstructions in no particular order, so before
scoring each true image is paired with a distinct reconstruction by an optimal
assignment (Hungarian algorithm, scipy) that maximises the total PSNR. When
the attacker reconstructs more images than one client holds (secure
aggregation over many clients), each of the client's images gets its best
distinct match, which favours the attacker.

References
----------
Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error
visibility to structural similarity", IEEE TIP 2004 (SSIM).
scikit-image ``skimage.metrics.peak_signal_noise_ratio`` and ``structural_similarity``.
Kuhn, "The Hungarian method for the assignment problem", 1955.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import InvalidInput

PSNR_CAP = 100.0  # dB reported for an exact copy (skimage gives inf)


def _as_image(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 3:
        raise InvalidInput(f"{what} must be one image shaped (channels, height, width), not {a.shape}.")
    return a


def psnr(true: np.ndarray, reconstruction: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of one (C, H, W) image in [0, 1] (capped at 100).

    >>> x = np.full((1, 8, 8), 0.5)
    >>> round(psnr(x, x + 0.1), 1)
    20.0
    """
    from skimage.metrics import peak_signal_noise_ratio

    t, r = _as_image(true, "true"), np.clip(_as_image(reconstruction, "reconstruction"), 0, 1)
    if t.shape != r.shape:
        raise InvalidInput(f"image shapes differ: {t.shape} vs {r.shape}.")
    if np.array_equal(t, r):
        return PSNR_CAP
    return float(min(PSNR_CAP, peak_signal_noise_ratio(t, r, data_range=1.0)))


def ssim(true: np.ndarray, reconstruction: np.ndarray) -> float:
    """Structural similarity (1 = identical) of one (C, H, W) image in [0, 1].

    >>> x = np.random.default_rng(0).random((3, 32, 32))
    >>> ssim(x, x)
    1.0
    """
    from skimage.metrics import structural_similarity

    t, r = _as_image(true, "true"), np.clip(_as_image(reconstruction, "reconstruction"), 0, 1)
    if t.shape != r.shape:
        raise InvalidInput(f"image shapes differ: {t.shape} vs {r.shape}.")
    side = min(t.shape[1:])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        raise InvalidInput(f"SSIM needs images of at least 3x3 pixels, not {t.shape[1:]}.")
    return float(structural_similarity(t, r, data_range=1.0, channel_axis=0, win_size=win))


def match(true_images: np.ndarray, reconstructions: np.ndarray) -> list[tuple[int, int, float]]:
    """Pair each true image with a distinct reconstruction, maximising total PSNR.

    Returns ``(true_index, reconstruction_index, psnr)`` for every true image.

    >>> t = np.stack([np.zeros((1, 4, 4)), np.ones((1, 4, 4))])
    >>> [(i, j) for i, j, _ in match(t, t[::-1])]
    [(0, 1), (1, 0)]
    """
    from scipy.optimize import linear_sum_assignment

    t, r = np.asarray(true_images), np.asarray(reconstructions)
    if t.ndim != 4 or r.ndim != 4 or t.shape[1:] != r.shape[1:]:
        raise InvalidInput(f"match needs image batches (N, C, H, W) of one image shape, not {t.shape} and {r.shape}.")
    if len(r) < len(t):
        raise InvalidInput(f"{len(r)} reconstructions cannot be matched to {len(t)} true images.")
    scores = np.array([[psnr(a, b) for b in r] for a in t])
    rows, cols = linear_sum_assignment(-scores)
    return [(int(i), int(j), float(scores[i, j])) for i, j in zip(rows, cols)]


def label_accuracy(true_labels, recovered_labels) -> float:
    """Fraction of the true labels found among the recovered ones (as multisets, order-free).

    >>> label_accuracy([1, 1, 3], [3, 1, 7])
    0.6666666666666666
    """
    true = Counter(int(v) for v in np.asarray(true_labels).ravel())
    if not true:
        raise InvalidInput("label_accuracy needs at least one true label.")
    found = Counter(int(v) for v in np.asarray(recovered_labels).ravel())
    return sum((true & found).values()) / sum(true.values())


def score(true_images: np.ndarray, reconstructions: np.ndarray, true_labels=None, recovered_labels=None) -> dict:
    """PSNR and SSIM of each matched pair, their medians, and label accuracy.

    Returns a dict with ``psnr`` and ``ssim`` (medians over the true images),
    ``psnr_mean``, ``psnr_per_image``, ``ssim_per_image``, ``matching`` and,
    when labels are given, ``label_accuracy``.
    """
    pairs = match(true_images, reconstructions)
    p = [s for _, _, s in pairs]
    q = [ssim(true_images[i], reconstructions[j]) for i, j, _ in pairs]
    out = {
        "psnr": float(np.median(p)),
        "psnr_mean": float(np.mean(p)),
        "ssim": float(np.median(q)),
        "psnr_per_image": p,
        "ssim_per_image": q,
        "matching": [j for _, j, _ in pairs],
    }
    if true_labels is not None and recovered_labels is not None:
        out["label_accuracy"] = label_accuracy(true_labels, recovered_labels)
    return out
