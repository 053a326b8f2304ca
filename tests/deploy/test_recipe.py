"""The hub recipe's promises that need no running hub: secure defaults, one limit everywhere, no secret in the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "deploy" / "hub"
sys.path.insert(0, str(HUB))
import labhub  # noqa: E402


def _load_config(tmp_path, **env) -> dict:
    """Run jupyterhub_config.py as JupyterHub would (a traitlets Config as ``c``); return its settings."""
    pytest.importorskip("jupyterhub", reason="JupyterHub is not installed: run `make hub-deps`")
    code = f"""
import json, os, sys
from traitlets.config import Config
c = Config()
path = {str(HUB / "jupyterhub_config.py")!r}
exec(compile(open(path).read(), path, "exec"), {{"c": c, "__file__": path, "__name__": "config"}})
print(json.dumps({{k: {{n: repr(v) for n, v in sec.items()}} for k, sec in c.items()}}))
"""
    full = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_HUB_")}
    full.update(LABKIT_HUB_STATE=str(tmp_path / "state"), **env)
    proc = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=60)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    import json

    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_config_defaults_are_secure(tmp_path):
    cfg = _load_config(tmp_path)
    assert cfg["JupyterHub"]["bind_url"] == repr("http://127.0.0.1:8000")  # loopback unless told otherwise
    assert "PAMAuthenticator" in cfg["JupyterHub"]["authenticator_class"]
    assert cfg["Authenticator"]["allow_all"] == "False"  # no sign-up
    assert cfg["Authenticator"]["admin_users"] == "set()"  # the trainer is a role, not JupyterHub's admin
    assert cfg["PAMAuthenticator"]["allowed_groups"] == repr({labhub.GROUP})
    assert cfg["Spawner"]["mem_limit"] == repr("2G")
    assert "'LABKIT_FAST': '1'" in cfg["Spawner"]["environment"]
    assert "jupyterhub_idle_culler" in cfg["JupyterHub"]["services"]
    assert "access:servers" not in cfg["JupyterHub"]["load_roles"]  # nobody enters a trainee's server
    assert int(cfg["JupyterHub"]["token_expires_in_max_seconds"]) <= 24 * 3600
    assert (tmp_path / "state").stat().st_mode & 0o077 == 0  # the hub's secrets stay root's


def test_plain_http_off_loopback_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="refusing to serve the hub over plain HTTP"):
        _load_config(tmp_path, LABKIT_HUB_URL="http://0.0.0.0:8000")
    cfg = _load_config(
        tmp_path, LABKIT_HUB_URL="http://0.0.0.0:443", LABKIT_HUB_SSL_CERT="/c.pem", LABKIT_HUB_SSL_KEY="/k.pem"
    )
    assert cfg["JupyterHub"]["bind_url"] == repr("https://0.0.0.0:443")


def test_kubernetes_values_match_the_one_server_recipe():
    values = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "values.yaml").read_text())
    config = (HUB / "jupyterhub_config.py").read_text()
    assert values["singleuser"]["memory"]["limit"] == "2G" and '"LABKIT_HUB_MEM_LIMIT", "2G"' in config
    assert values["singleuser"]["extraEnv"]["LABKIT_FAST"] == "1"
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] == 3600
    assert '"LABKIT_HUB_IDLE_SECONDS", "3600"' in config
    assert values["proxy"]["https"]["enabled"] is True
    assert values["hub"]["config"]["Authenticator"]["admin_users"] == []
    assert "access:servers" not in values["hub"]["loadRoles"]["trainer"]["scopes"]
    # the student version, where binder/postBuild writes it in the image (the repo sits at /srv/petlab)
    hook = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"][-1]
    assert "cp -r /srv/petlab/build/student " in hook and "/notebooks" not in hook
    assert "labkit student --out build/student" in (ROOT / "binder" / "postBuild").read_text()


def test_no_password_or_secret_is_written_in_the_recipe():
    for path in (ROOT / "deploy").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".yaml", ".md"):
            text = path.read_text()
            assert not re.search(r"(password|secret|token)\s*[:=]\s*['\"][^'\"]+['\"]", text, re.I), path


def test_generated_passwords_are_long_and_distinct():
    words = {labhub.password() for _ in range(200)}
    assert len(words) == 200
    assert all(len(w) == 14 and w.isalnum() and not set(w) & set("Il1O0o") for w in words)


def test_the_notebooks_hook_points_at_the_student_version(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDENT_DIR", str(tmp_path / "student"))
    source = labhub.student_notebooks()
    assert source == tmp_path / "student"
    notebooks = sorted(source.glob("[0-9][0-9]_*.py"))
    assert [p.name for p in notebooks] == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert all("### BEGIN SOLUTION" not in p.read_text() for p in notebooks)
    assert "answer = ...  # your answer" in notebooks[1].read_text()
    monkeypatch.delenv("STUDENT_DIR")
    assert labhub.student_notebooks() == ROOT / "build" / "student"  # the default, as `make student` writes it


def test_account_names_are_checked_before_anything_is_made():
    with pytest.raises(ValueError, match="not a usable account name"):
        labhub.add_account("Root;rm", group=None)
