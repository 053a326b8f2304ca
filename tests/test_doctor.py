import json
import subprocess
import sys

from labkit import doctor


def test_every_backend_works_here():
    statuses = doctor.run()
    failing = {o.name: o.detail for o in statuses if not o.ok}
    assert not failing, f"backends failing here: {failing}"
    assert doctor.healthy(statuses)
    assert len(statuses) == len(doctor.checks())
    assert all(o.version and "not installed" not in o.version for o in statuses)


def test_a_crashing_check_becomes_a_reason():
    bogus = doctor.Check("no such backend", "nothing", ("numpy",), "labkit.doctor:smoke_widgets")
    out = doctor.run_check(bogus)
    assert not out.ok and "exited with code" in out.detail
    assert not doctor.healthy([out])
    assert doctor.healthy([doctor.Status("x", "op", "v", False, False, 0.1, "optional")])


def test_a_hanging_check_times_out():
    out = doctor.run_check(doctor.checks()[0], timeout=0.01)
    assert not out.ok and "no answer within" in out.detail


def test_table_json_and_html_render():
    outs = [
        doctor.Status("A", "op", "a 1.0", True, True, 0.2, "did it"),
        doctor.Status("B", "op", "b 2.0", True, False, 0.1, "ImportError: nope"),
    ]
    text = doctor.table(outs)
    assert "FAIL" in text and "ImportError: nope" in text and "ok" in text
    assert json.loads(doctor.as_json(outs))[1]["detail"] == "ImportError: nope"
    assert "not working" in doctor.html_table(outs)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "labkit.cli", "doctor", *args], capture_output=True, text=True)


def test_cli_exit_code_follows_health():
    proc = _cli("--json", "--only", "cryptography ML-KEM/ML-DSA")
    statuses = json.loads(proc.stdout)
    assert [o["name"] for o in statuses] == ["cryptography ML-KEM/ML-DSA"]
    assert proc.returncode == (0 if statuses[0]["ok"] else 1)
    proc = _cli("--only", "Enigma")
    assert proc.returncode == 2 and "unknown backend" in proc.stderr
