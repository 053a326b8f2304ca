"""A user's data as untrusted input: ``.npz`` or ``.csv`` files, checked and split before any use.

``.npz`` files hold arrays ``X`` and ``y`` (and optionally ``X_test``,
``y_test``); they are opened with ``allow_pickle=False``, and each member's
uncompressed size is checked against :func:`max_data_bytes` before it is read.
``.csv`` files hold one sample per row, numbers only, with the label in a
named column (default: the last). Every check says what is wrong and where:
NaN or inf (how many, the first row and feature), labels outside the model's
outputs, shapes that do not match the model's input (both shapes), empty data.

>>> X, y = np.zeros((8, 3)), np.arange(8) % 2
>>> (X_tr, y_tr), (X_te, y_te) = split(X, y)
>>> len(X_tr), len(X_te)
(6, 2)
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InvalidInput

ENV_MAX_DATA_MB = "LABKIT_MAX_DATA_MB"
TEST_FRACTION = 0.25
SPLIT_SEED = 20240607  # fixed: the same file always gives the same split, whatever LABKIT_SEED says


def max_data_bytes() -> int:
    """Largest data file accepted: ``LABKIT_MAX_DATA_MB``, default 512 MB."""
    raw = os.environ.get(ENV_MAX_DATA_MB, "512")
    try:
        return int(float(raw) * 2**20)
    except ValueError:
        raise InvalidInput(f"{ENV_MAX_DATA_MB}={raw!r} must be a number of megabytes.") from None


def _check_size(what: str, size: int) -> None:
    limit = max_data_bytes()
    if size > limit:
        raise InvalidInput(
            f"{what} is {size / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB limit for data; "
            f"use a sample of it, or raise {ENV_MAX_DATA_MB}."
        )


def read_data_file(path: str | os.PathLike, *, label: str | int | None = None) -> dict[str, np.ndarray]:
    """Arrays ``X``, ``y`` (and ``X_test``, ``y_test`` when present) from an .npz or .csv file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"data file {path} does not exist (or is not a file).")
    _check_size(path.name, path.stat().st_size)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".csv":
        return _read_csv(path, label)
    raise InvalidInput(
        f"{path.name}: give the data as .npz (arrays X, y) or .csv (one sample per row), not {suffix or 'no extension'}."
    )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{path.name} is not a readable .npz archive: {exc}") from None
    _check_size(f"{path.name} (uncompressed)", sum(members.values()))
    missing = [k for k in ("X", "y") if k not in members]
    if missing:
        raise InvalidInput(f"{path.name} has arrays {sorted(members)}; it needs X and y (optionally X_test, y_test).")
    if ("X_test" in members) != ("y_test" in members):
        raise InvalidInput(f"{path.name}: give X_test and y_test together, or neither.")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in ("X", "y", "X_test", "y_test") if k in members}
    except ValueError as exc:  # object arrays need pickle: refused
        raise InvalidInput(f"{path.name}: arrays must be numbers ({exc}).") from None


def _read_csv(path: Path, label: str | int | None) -> dict[str, np.ndarray]:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path.name} is not a readable CSV file: {str(exc).splitlines()[0]}") from None
    if frame.shape[1] < 2:
        raise InvalidInput(f"{path.name} has {frame.shape[1]} column(s); it needs features and a label column.")
    if label is None:
        column = frame.columns[-1]
    elif isinstance(label, int) and not isinstance(label, bool):
        if not -frame.shape[1] <= label < frame.shape[1]:
            raise InvalidInput(f"label column {label} does not exist: {path.name} has {frame.shape[1]} columns.")
        column = frame.columns[label]
    elif label in frame.columns:
        column = label
    else:
        raise InvalidInput(f"{path.name} has no column {label!r}; its columns are {list(frame.columns)[:12]}.")
    features = frame.drop(columns=[column])
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text:
        raise InvalidInput(f"{path.name}: columns {text[:5]} are not numbers; encode them (one-hot) before assessing.")
    return {"X": features.to_numpy(dtype=np.float64), "y": frame[column].to_numpy()}


def check_features(X, *, what: str, input_shape: tuple[int, ...]) -> np.ndarray:
    """``X`` as float32 of shape (n, *input_shape); flat rows of the right length are reshaped."""
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be an array of numbers.") from None
    if arr.size == 0 or arr.ndim == 0 or len(arr) == 0:
        raise InvalidInput(f"{what} is empty: give at least one sample.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise InvalidInput(f"{what} must hold real numbers, not {arr.dtype}.")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        where = f"row {first[0]}" + (f", feature {tuple(int(v) for v in first[1:])}" if len(first) > 1 else "")
        raise InvalidInput(
            f"{what} holds {int(np.isnan(arr).sum())} NaN and {int(np.isinf(arr).sum())} infinite values "
            f"(first at {where}); clean or impute them before assessing."
        )
    sample = arr.shape[1:]
    if sample != tuple(input_shape):
        if int(np.prod(sample)) == int(np.prod(input_shape)):
            arr = arr.reshape(len(arr), *input_shape)
        else:
            raise InvalidInput(
                f"the model takes samples of shape {tuple(input_shape)} but {what} has samples of shape {sample} "
                f"({int(np.prod(sample))} values, the model needs {int(np.prod(input_shape))})."
            )
    return arr.astype(np.float32)


def check_labels(y, *, what: str, n: int, n_classes: int) -> np.ndarray:
    """``y`` as int64 class indices in [0, n_classes), one per sample."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or len(arr) != n:
        raise InvalidInput(f"{what} must hold one label per sample: {n} samples but labels of shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise InvalidInput(f"{what} must be class numbers 0..{n_classes - 1}, not {arr.dtype}.")
    if not np.all(np.isfinite(arr.astype(np.float64))) or np.any(arr != np.round(arr)):
        raise InvalidInput(f"{what} must be whole class numbers 0..{n_classes - 1}.")
    ints = arr.astype(np.int64)
    outside = np.unique(ints[(ints < 0) | (ints >= n_classes)])
    if outside.size:
        shown = ", ".join(str(v) for v in outside[:5]) + (" ..." if outside.size > 5 else "")
        raise InvalidInput(
            f"{what} has labels {shown} outside the model's {n_classes} classes (0..{n_classes - 1}); "
            "map the labels to 0..n-1 or check that this is the model's data."
        )
    return ints


def split(X: np.ndarray, y: np.ndarray, *, fraction: float = TEST_FRACTION):
    """A deterministic shuffled split: ((X_train, y_train), (X_test, y_test)), at least one sample each."""
    n = len(X)
    if n < 2:
        raise InvalidInput(f"{n} sample cannot be split into training and test data; give at least 2, or X_test.")
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_test = min(max(1, round(n * fraction)), n - 1)
    test, train = order[:n_test], order[n_test:]
    return (X[train], y[train]), (X[test], y[test])
