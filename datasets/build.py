"""Rebuild the lab's data files from data that ships inside scikit-learn.

Run from the project folder:  .venv/bin/python datasets/build.py
Writes digits.npz, breast_cancer.npz, patches32.npz and manifest.json here.
The files are deterministic (fixed seed, no timestamps inside), so a rebuild
gives the same sha256 on the same scikit-learn data.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
SEED = 20261122
TEST_SIZE = 0.25
PATCH = 32


def _split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=TEST_SIZE, random_state=SEED, stratify=y)
    return np.sort(train), np.sort(test)


def _patches() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Non-overlapping 32x32 RGB patches of the two bundled sample photos."""
    images, labels = [], []
    names = ["china", "flower"]
    for label, name in enumerate(names):
        img = skd.load_sample_image(f"{name}.jpg")  # (427, 640, 3) uint8
        h, w = (img.shape[0] // PATCH) * PATCH, (img.shape[1] // PATCH) * PATCH
        tiles = img[:h, :w].reshape(h // PATCH, PATCH, w // PATCH, PATCH, 3).swapaxes(1, 2)
        tiles = tiles.reshape(-1, PATCH, PATCH, 3)
        # Keep the textured patches: flat sky teaches little about inversion.
        keep = tiles.reshape(len(tiles), -1).std(axis=1) > 12
        images.append(tiles[keep])
        labels.append(np.full(int(keep.sum()), label))
    return np.concatenate(images), np.concatenate(labels), names


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed without timestamps, so the bytes are reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.save(member, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    path.write_bytes(buf.getvalue())


def build() -> dict:
    import sklearn

    manifest = {}
    digits = skd.load_digits()
    cancer = skd.load_breast_cancer()
    px, py, pnames = _patches()
    specs = {
        "digits": dict(
            X=digits.data.astype(np.float32), y=digits.target.astype(np.int64),
            target_names=np.array([str(t) for t in digits.target_names]),
            feature_names=np.array([f"pixel_{i}" for i in range(digits.data.shape[1])]),
            description="8x8 greyscale handwritten digits 0-9, pixel values 0-16 (1,797 images).",
            source="UCI ML hand-written digits (Alpaydin & Kaynak 1998), via scikit-learn load_digits",
            license="CC BY 4.0",
        ),
        "breast_cancer": dict(
            X=cancer.data.astype(np.float32), y=cancer.target.astype(np.int64),
            target_names=np.array(cancer.target_names), feature_names=np.array(cancer.feature_names),
            description="Breast cancer Wisconsin (diagnostic): 569 cases, 30 features; 0 malignant, 1 benign.",
            source="UCI ML Breast Cancer Wisconsin (Diagnostic), via scikit-learn load_breast_cancer",
            license="CC BY 4.0",
        ),
        "patches32": dict(
            X=px, y=py.astype(np.int64), target_names=np.array(pnames),
            feature_names=np.array(["height", "width", "rgb"]),
            description="32x32 RGB patches (uint8) of scikit-learn's two sample photos; label = source photo.",
            source="scikit-learn load_sample_image('china.jpg'), ('flower.jpg')",
            license="china.jpg: CC BY 2.0 (Hong Kong), flower.jpg: CC BY 2.0 (per scikit-learn's docs)",
        ),
    }  # fmt: skip
    for name, spec in specs.items():
        train, test = _split(spec["y"])
        path = HERE / f"{name}.npz"
        _write_npz(path, X=spec["X"], y=spec["y"], target_names=spec["target_names"],
                   feature_names=spec["feature_names"], train_idx=train, test_idx=test)  # fmt: skip
        manifest[name] = {
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
            "shape": list(spec["X"].shape),
            "description": spec["description"],
            "source": spec["source"],
            "license": spec["license"],
            "split": {"seed": SEED, "test_size": TEST_SIZE, "stratified": True},
            "built_with": {"scikit-learn": sklearn.__version__, "script": "datasets/build.py"},
        }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


if __name__ == "__main__":
    for name, entry in build().items():
        print(f"{name:14s} {entry['bytes']:>9,d} B  {entry['sha256'][:16]}  shape={entry['shape']}")
