"""The lab's small data sets, loaded offline and checked against their sha256.

Names: ``digits`` (8x8 handwritten digits), ``breast_cancer`` (Wisconsin
diagnostic) and ``patches32`` (32x32 RGB patches of scikit-learn's sample
photos). Files and ``manifest.json`` live in the project's ``datasets/``
folder (``LABKIT_DATASETS`` overrides it); ``datasets/build.py`` rebuilds them.

>>> ds = load("digits")
>>> ds.X_train.shape[1], len(ds.target_names)
(64, 10)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import config
from .errors import InvalidInput, LabkitError, TamperDetected


def data_dir() -> Path:
    """Folder holding the data files and manifest.json."""
    return Path(os.environ.get("LABKIT_DATASETS") or config.repo_root() / "datasets")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features, labels and a fixed stratified train/test split."""

    name: str
    X: np.ndarray
    y: np.ndarray
    target_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    train_idx: np.ndarray
    test_idx: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def X_train(self) -> np.ndarray:
        """Training features."""
        return self.X[self.train_idx]

    @property
    def y_train(self) -> np.ndarray:
        """Training labels."""
        return self.y[self.train_idx]

    @property
    def X_test(self) -> np.ndarray:
        """Test features."""
        return self.X[self.test_idx]

    @property
    def y_test(self) -> np.ndarray:
        """Test labels."""
        return self.y[self.test_idx]

    @property
    def n_classes(self) -> int:
        """How many classes the labels name."""
        return len(self.target_names)

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, X{tuple(self.X.shape)}, {self.n_classes} classes, "
            f"train={len(self.train_idx)}, test={len(self.test_idx)})"
        )


def manifest(root: Path | None = None) -> dict:
    """The parsed manifest.json: name -> file, sha256, source, license."""
    path = (root or data_dir()) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise LabkitError(
            f"no dataset manifest at {path}; run labkit from the project folder or set LABKIT_DATASETS."
        ) from None


def names() -> list[str]:
    """The data sets listed in ``datasets/manifest.json``."""
    return sorted(manifest())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load(name: str, *, root: str | os.PathLike | None = None) -> Dataset:
    """Load a data set by name after verifying its sha256 against the manifest.

    Raises
    ------
    InvalidInput
        Unknown name (the message lists the known ones).
    TamperDetected
        The file's hash differs from the manifest's.
    """
    base = Path(root) if root is not None else data_dir()
    return _load(name, str(base.resolve()))


@lru_cache(maxsize=8)
def _load(name: str, base: str) -> Dataset:
    root = Path(base)
    entries = manifest(root)
    if name not in entries:
        raise InvalidInput(f"unknown dataset {name!r}; known: {', '.join(sorted(entries))}.")
    entry = entries[name]
    path = root / entry["file"]
    if not path.exists():
        raise LabkitError(f"dataset file {path} is missing; rebuild with `python datasets/build.py`.")
    digest = _sha256(path)
    if digest != entry["sha256"]:
        raise TamperDetected(
            f"dataset {name!r} ({path.name}) has sha256 {digest[:16]}..., manifest says "
            f"{entry['sha256'][:16]}...: the file was changed or corrupted. "
            "Restore it from git or rebuild with `python datasets/build.py`."
        )
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for a in arrays.values():
        a.setflags(write=False)
    info = {k: entry[k] for k in ("description", "source", "license", "sha256") if k in entry}
    return Dataset(
        name=name,
        X=arrays["X"],
        y=arrays["y"],
        target_names=tuple(str(t) for t in arrays["target_names"]),
        feature_names=tuple(str(t) for t in arrays["feature_names"]),
        train_idx=arrays["train_idx"],
        test_idx=arrays["test_idx"],
        info=info,
    )
