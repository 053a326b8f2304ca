"""The lab's demonstration workloads, built through the same intake a user's model takes.

- ``digits_cnn``: Conv2d(1->4, 3x3), ReLU, Linear(144->10) on 8x8 digits (pixels in [0, 1]).
- ``cryptonets``: the CryptoNets shape on 28x28 inputs (the digits upsampled):
  Conv2d(1->5, 5x5, stride 2, padding 1), ReLU, Linear(845->100), ReLU, Linear(100->10).
- ``digits_mlp``: Linear(64->32), ReLU, Linear(32->10).

Each is trained with torch (seeded, one thread), its weights cached as plain
arrays under ``LABKIT_HOME/cache/workload`` (no pickle), and handed to
:meth:`Workload.from_torch`: the ONNX export and every check a user's model
goes through.

References
----------
Gilad-Bachrach et al., "CryptoNets", ICML 2016 (the 28x28 network: 5x5 windows,
stride 2, 5 maps, a dense layer of 100). Kingma & Ba, "Adam", ICLR 2015.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import config, datasets, validate
from .core import Workload

NAMES = ("digits_cnn", "cryptonets", "digits_mlp")


def build(name: str):
    """The untrained torch module of example ``name``."""
    import torch

    validate.choice("name", name, NAMES)
    nn = torch.nn
    if name == "digits_cnn":
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    if name == "cryptonets":
        return nn.Sequential(
            nn.Conv2d(1, 5, 5, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(5 * 13 * 13, 100),
            nn.ReLU(),
            nn.Linear(100, 10),
        )
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def data(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test) of example ``name``: digits scaled to [0, 1] in its input shape."""
    validate.choice("name", name, NAMES)
    ds = datasets.load("digits")
    xtr, xte = ds.X_train / 16.0, ds.X_test / 16.0
    if name == "digits_mlp":
        return xtr.astype(np.float32), ds.y_train, xte.astype(np.float32), ds.y_test
    if name == "digits_cnn":
        return (
            xtr.reshape(-1, 1, 8, 8).astype(np.float32),
            ds.y_train,
            xte.reshape(-1, 1, 8, 8).astype(np.float32),
            ds.y_test,
        )
    return upsample(xtr), ds.y_train, upsample(xte), ds.y_test


def upsample(x: np.ndarray, size: int = 28) -> np.ndarray:
    """8x8 images (flat rows) to ``size`` x ``size`` by bilinear interpolation, shape (n, 1, size, size)."""
    from scipy.ndimage import zoom

    images = np.asarray(x, dtype=np.float64).reshape(-1, 8, 8)
    big = zoom(images, (1, size / 8, size / 8), order=1, mode="nearest", grid_mode=True)
    return np.clip(big, 0.0, 1.0)[:, None].astype(np.float32)


def workload(name: str = "digits_cnn", *, rng: int | np.random.Generator | None = None) -> Workload:
    """Example ``name`` trained (or read from the cache) and taken in by :meth:`Workload.from_torch`."""
    seed = config.seed_from(rng)
    return _workload(validate.choice("name", name, NAMES), seed)


@lru_cache(maxsize=6)
def _workload(name: str, seed: int) -> Workload:
    xtr, ytr, xte, yte = data(name)
    model = trained(name, seed)
    return Workload.from_torch(model, xtr, ytr, X_test=xte, y_test=yte, name=name)


def trained(name: str, seed: int, *, epochs: int = 40):
    """The torch module of example ``name`` with weights trained from ``seed`` (cached on disk)."""
    import torch

    xtr, ytr, _, _ = data(name)
    model = build(name)
    tag = f"{name}-{seed}-{epochs}-{hashlib.sha256(xtr.tobytes()).hexdigest()[:16]}"
    path = config.cache_dir("workload") / f"{name}-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.npz"
    state = model.state_dict()
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                model.load_state_dict({k: torch.from_numpy(f[k]) for k in state})
            return model.eval()
        except (OSError, ValueError, KeyError, RuntimeError):
            path.unlink(missing_ok=True)  # unreadable cache: train again
    _fit(model, xtr, ytr, seed, epochs)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    tmp.replace(path)
    return model.eval()


def _fit(model, x: np.ndarray, y: np.ndarray, seed: int, epochs: int) -> None:
    """Mini-batch Adam on cross-entropy, seeded, on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            for module in model.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
            gen = torch.Generator().manual_seed(seed)
            xt, yt = torch.from_numpy(x), torch.from_numpy(np.asarray(y, dtype=np.int64))
            opt = torch.optim.Adam(model.parameters(), lr=3e-3)
            model.train()
            for _ in range(epochs):
                for idx in torch.randperm(len(xt), generator=gen).split(64):
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
                    opt.step()
    finally:
        torch.set_num_threads(threads)
        model.eval()


def save(name: str, folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write example ``name`` as ``<name>.onnx`` and ``<name>.npz`` (X, y, X_test, y_test) into ``folder``."""
    w = workload(name)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_path, data_path = folder / f"{name}.onnx", folder / f"{name}.npz"
    model_path.write_bytes(w.onnx_bytes)
    np.savez(data_path, X=w.X_train, y=w.y_train, X_test=w.X_test, y_test=w.y_test)
    return model_path, data_path
