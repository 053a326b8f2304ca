"""binder/ must describe the same environment as constraints.txt."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_binder_pins_match_constraints():
    lock, binder = _pins(ROOT / "constraints.txt"), _pins(ROOT / "binder" / "requirements.txt")
    assert len(binder) > 50
    mismatched = {k: (binder[k], lock[k]) for k in binder.keys() & lock.keys() if binder[k] != lock[k]}
    assert not mismatched, f"binder/requirements.txt differs from constraints.txt: {mismatched}"
    missing = binder.keys() - lock.keys()
    assert not missing, f"pinned for Binder but not in constraints.txt: {missing}"
    for key in ("torch", "tenseal", "openfhe", "ezkl", "opacus", "cryptography", "pyopenssl", "jupytext"):
        assert key in binder, f"{key} missing from binder/requirements.txt"


def test_binder_uses_cpu_torch_and_python_310():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.10"
    req = (ROOT / "binder" / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in req
    assert not re.search(r"^nvidia-", req, re.M), "CUDA libraries do not belong on Binder"


def test_postbuild_installs_like_make():
    post = (ROOT / "binder" / "postBuild").read_text()
    make = (ROOT / "Makefile").read_text()
    assert "--no-deps crypten==0.4.1" in post and "CRYPTEN := crypten==0.4.1" in make
    assert "labkit setup-jupyter" in post and "labkit setup-jupyter" in make
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
