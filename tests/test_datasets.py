import json
import shutil

import numpy as np
import pytest

from labkit import datasets
from labkit.errors import InvalidInput, TamperDetected


@pytest.mark.parametrize(
    "name, n, shape, classes",
    [("digits", 1797, (64,), 10), ("breast_cancer", 569, (30,), 2), ("patches32", None, (32, 32, 3), 2)],
)
def test_load_shapes_and_split(name, n, shape, classes):
    ds = datasets.load(name)
    assert ds.X.shape[1:] == shape and ds.n_classes == classes
    if n:
        assert len(ds) == n
    assert len(np.intersect1d(ds.train_idx, ds.test_idx)) == 0
    assert len(ds.train_idx) + len(ds.test_idx) == len(ds)
    # stratified: every class in both splits
    assert set(np.unique(ds.y_test)) == set(range(classes))
    assert ds.info["license"] and ds.info["source"]


def test_patches_are_uint8_images():
    ds = datasets.load("patches32")
    assert ds.X.dtype == np.uint8 and len(ds) > 100


def test_unknown_name_lists_known_names():
    with pytest.raises(InvalidInput, match="breast_cancer, digits, patches32"):
        datasets.load("mnist")


def test_checksum_mismatch_is_a_clear_error(tmp_path):
    src = datasets.data_dir()
    shutil.copy(src / "manifest.json", tmp_path / "manifest.json")
    data = bytearray((src / "digits.npz").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "digits.npz").write_bytes(bytes(data))
    with pytest.raises(TamperDetected, match="sha256"):
        datasets.load("digits", root=tmp_path)


def test_missing_file_and_manifest(tmp_path):
    with pytest.raises(Exception, match="manifest"):
        datasets.load("digits", root=tmp_path)
    shutil.copy(datasets.data_dir() / "manifest.json", tmp_path / "manifest.json")
    with pytest.raises(Exception, match="missing"):
        datasets.load("digits", root=tmp_path)


def test_manifest_matches_files_on_disk():
    import hashlib

    for name, entry in json.loads((datasets.data_dir() / "manifest.json").read_text()).items():
        path = datasets.data_dir() / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], name


def test_arrays_are_read_only():
    ds = datasets.load("digits")
    with pytest.raises(ValueError):
        ds.X[0, 0] = 1.0
    x = ds.X_train  # a copy the learner may change
    x[0, 0] = 1.0
