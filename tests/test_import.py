import subprocess
import sys

HEAVY = ("torch", "tenseal", "openfhe", "crypten", "ezkl", "opacus", "onnx")


def test_import_labkit_is_light_and_fast():
    code = (
        "import time; t = time.perf_counter(); import labkit, labkit.config, labkit.results, labkit.bench, "
        "labkit.datasets, labkit.errors, labkit.exercises; dt = time.perf_counter() - t; import sys; "
        f"print(dt, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    seconds, heavy = float(out[0]), out[1].strip()
    assert heavy == "[]", f"import labkit pulled in {heavy}"
    assert seconds < 1.0, f"import labkit took {seconds:.2f} s"


def test_lab_packages_import_lazily():
    rooms = ["he", "inversion", "fl", "zk", "mpc", "dp", "tee", "pqc", "widgets"]
    code = (
        "import importlib, importlib.util, sys\n"
        f"for room in {rooms!r}:\n"
        "    if importlib.util.find_spec('labkit.' + room):\n"
        "        importlib.import_module('labkit.' + room)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"importing the lab packages pulled in {out}"
