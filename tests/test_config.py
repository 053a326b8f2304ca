import numpy as np
import pytest

from labkit import config
from labkit.errors import InvalidInput


def test_fast_mode_reads_environment(monkeypatch):
    monkeypatch.setenv("LABKIT_FAST", "1")
    assert config.fast() and config.pick(100, 5) == 5
    monkeypatch.setenv("LABKIT_FAST", "0")
    assert not config.fast() and config.pick(100, 5) == 100
    monkeypatch.delenv("LABKIT_FAST")
    assert not config.fast()


def test_fast_mode_rejects_gibberish(monkeypatch):
    monkeypatch.setenv("LABKIT_FAST", "maybe")
    with pytest.raises(InvalidInput, match="LABKIT_FAST"):
        config.fast()


def test_seed_and_rng(monkeypatch):
    monkeypatch.setenv("LABKIT_SEED", "7")
    assert config.seed() == 7
    a, b = config.rng(), config.rng(7)
    assert a.integers(1 << 30) == b.integers(1 << 30)
    gen = np.random.default_rng(0)
    assert config.rng(gen) is gen
    monkeypatch.setenv("LABKIT_SEED", "seven")
    with pytest.raises(InvalidInput, match="integer"):
        config.seed()
    with pytest.raises(InvalidInput, match="Generator"):
        config.rng(1.5)


def test_home_and_cache_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    assert config.home() == tmp_path / "home" and config.home().is_dir()
    assert config.cache_dir("zk", "keys") == tmp_path / "home" / "cache" / "zk" / "keys"
    assert config.cache_dir("zk", "keys").is_dir()
    assert config.store_path() == tmp_path / "home" / "results.sqlite"
