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


def _start(env_fast, command):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "LABKIT_FAST"}
    if env_fast is not None:
        env["LABKIT_FAST"] = env_fast
    return subprocess.run([str(ROOT / "binder" / "start"), *command], env=env, capture_output=True, text=True)


def test_binder_starts_the_server_in_fast_mode_and_keeps_a_choice():
    # binder/start wraps the server's command: it must run it (with its arguments and exit code) in fast mode
    assert (ROOT / "binder" / "start").stat().st_mode & 0o111, "binder/start must be executable"
    proc = _start(
        None, ["python3", "-c", "import os, sys; print(os.environ['LABKIT_FAST'], sys.argv[1]); sys.exit(3)", "x y"]
    )
    assert (proc.returncode, proc.stdout) == (3, "1 x y\n")
    assert _start("0", ["python3", "-c", "import os; print(os.environ['LABKIT_FAST'])"]).stdout == "0\n"


def test_the_hub_spawns_trainee_servers_in_fast_mode():
    config = (ROOT / "deploy" / "hub" / "jupyterhub_config.py").read_text()
    spawner_env = re.search(r"^c\.Spawner\.environment = (\{.*\})$", config, re.M)
    assert spawner_env and '"LABKIT_FAST": "1"' in spawner_env.group(1)


def test_every_notebook_shows_the_mode_banner_in_its_first_code_cell():
    import jupytext

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        first = next(c for c in jupytext.read(path).cells if c.cell_type == "code")
        assert "config.banner()" in first.source, f"{path.name}: the first code cell must call config.banner()"


def test_the_banner_says_which_mode_and_how_to_switch(monkeypatch, capsys):
    from labkit import config

    monkeypatch.setenv("LABKIT_FAST", "1")
    shown = config.banner()
    assert shown.fast and "Fast mode is on" in capsys.readouterr().out
    assert "%env LABKIT_FAST=0" in shown.text and "<code>%env LABKIT_FAST=0</code>" in shown._repr_html_()
    monkeypatch.setenv("LABKIT_FAST", "0")
    shown = config.banner(show=False)
    assert not shown.fast and "%env LABKIT_FAST=1" in shown.text and capsys.readouterr().out == ""
