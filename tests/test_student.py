"""The student version (labkit.student): built from the instructor notebooks, no solution in it, runs to the end.

The instructor version (the repository's notebooks) is proven all-correct by
tests/test_notebooks.py, which runs with LABKIT_EXERCISES_STRICT=1 (tests/conftest.py).
Here each student notebook runs once in fast mode with one exercise given a wrong
answer: that one says "not yet" with its hint, every other one "not answered yet".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labkit import cli, exercises, student
from labkit.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
CHECK = re.compile(r'check\("(\d\d\.\w+)",\s*(\w+)')
# one wrong answer per notebook: exercise id -> (the learner's wrong answer, words of its hint)
WRONG = {
    "00": ("00.protects_in_use", '"TLS"', "in transit"),
    "01": ("01.exact_scheme", '"ckks"', "approximate"),
    "02": ("02.slots", "16384", "N/2 slots"),
    "03": ("03.clipping_letter", '"a"', "deterministic"),
    "04": ("04.provenance_decision", '"accept"', "stated hash"),
    "05": ("05.leaky_provider", '"TTP"', "dealer"),
    "06": ("06.audit_proves", '"yes"', "lower bound"),
    "07": ("07.leaked_fraction", "0.5", "page number"),  # a prediction, checked against the run
    "08": ("08.downgrade_reason", '"unknown_ca"', "never reached"),  # a prediction too
    "09": ("09.stops_poison", '"secagg"', "unseen"),
    "10": ("10.tee_overhead_kind", '"measured"', "cost model"),  # a reading of the run's own report
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    written = student.build(out)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    return out


def _solutions(text: str) -> list[str]:
    lines = text.splitlines()
    return [line.strip() for b, e in student.solution_blocks(text) for line in lines[b + 1 : e] if line.strip()]


def test_placeholders_replace_each_block_keeping_indentation():
    text = "x = 1\n    ### BEGIN SOLUTION\n    a = 2\n    b: int = 3\n    ### END SOLUTION\nrest\n"
    assert student.to_student(text) == "x = 1\n    a = ...  # your answer\n    b = ...  # your answer\nrest\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("### BEGIN SOLUTION\na = 1\n", "never closed"),
        ("a = 1\n### END SOLUTION\n", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\na = 1\n### END SOLUTION\n", "inside another"),
        ("### BEGIN SOLUTION\nprint(42)\n### END SOLUTION\n", "assigns no name"),
        ("### BEGIN SOLUTION\na = (\n### END SOLUTION\n", "not valid Python"),
    ],
)
def test_malformed_markers_are_refused(text, message):
    with pytest.raises(InvalidInput, match=message):
        student.to_student(text)


def test_build_refuses_to_overwrite_the_instructor_notebooks():
    with pytest.raises(InvalidInput, match="cannot be written over"):
        student.build(ROOT / "notebooks")


def test_default_folder_follows_student_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("STUDENT_DIR", raising=False)
    assert student.default_out() == ROOT / "build" / "student"
    monkeypatch.setenv("STUDENT_DIR", str(tmp_path / "s"))
    assert student.default_out() == tmp_path / "s"


def test_cli_writes_the_student_version(tmp_path, capsys):
    assert cli.main(["student", "--out", str(tmp_path)]) == 0
    assert f"{len(NOTEBOOKS)} notebooks" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.glob("[0-9][0-9]_*.py")) == [p.name for p in NOTEBOOKS]
    assert (tmp_path / "README.md").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_is_asked_and_checked_and_marked(path):
    """Each registered exercise of the notebook is asked and checked; every checked answer is a marked solution."""
    text = path.read_text()
    ids = {e.id for e in exercises.exercises(path.name[:2] + ".")}
    checked = {m.group(1) for m in CHECK.finditer(text)}
    assert checked == ids, f"{path.name}: checked {sorted(checked)} vs registered {sorted(ids)}"
    for exercise_id in ids:
        assert f'ask("{exercise_id}")' in text, f"{path.name} never shows the question of {exercise_id}"
    stu = student.to_student(text)
    for m in CHECK.finditer(stu):  # the last assignment of the answer before its check is the placeholder
        assigned = re.findall(rf"^\s*{m.group(2)}\s*=\s*(.*)$", stu[: m.start()], re.M)
        assert assigned and assigned[-1] == student.PLACEHOLDER, f"{path.name}: {m.group(1)} ships an answer"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_solution_text_survives_in_the_student_version(built, path):
    text = (built / path.name).read_text()
    assert student.BEGIN not in text and student.END not in text
    solutions = _solutions(path.read_text())
    if exercises.exercises(path.name[:2] + "."):
        assert solutions, f"{path.name} has exercises but no marked solution"
    for line in solutions:
        assert line not in text, f"{path.name}: solution line {line!r} is in the student version"


def _inject(text: str, exercise_id: str, wrong: str) -> str:
    m = next(m for m in CHECK.finditer(text) if m.group(1) == exercise_id)
    placeholder = f"{m.group(2)} = {student.PLACEHOLDER}"
    at = text.rindex(placeholder, 0, m.start())
    return text[:at] + f"{m.group(2)} = {wrong}" + text[at + len(placeholder) :]


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_notebook_runs_to_the_end_not_answered_yet(built, path, tmp_path, monkeypatch):
    """One fast run per notebook: a wrong answer gets "not yet" and its hint, the rest "not answered yet"."""
    from test_notebooks import execute  # the notebook harness: the same kernel, fast mode, memory watch

    ids = {e.id for e in exercises.exercises(path.name[:2] + ".")}
    if not ids:
        pytest.skip(f"{path.name} has no exercises; tests/test_notebooks.py runs it")
    exercise_id, wrong, hint = WRONG[path.name[:2]]
    nb = tmp_path / path.name
    nb.write_text(_inject((built / path.name).read_text(), exercise_id, wrong))
    log = tmp_path / "checks.jsonl"
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    monkeypatch.setenv(exercises.LOG_ENV, str(log))
    run = execute(nb, fast=True)
    checks = [json.loads(line) for line in log.read_text().splitlines()]
    status = {c["id"]: c for c in checks}
    assert set(status) == ids, f"checked {sorted(status)} of {sorted(ids)}"
    assert status[exercise_id]["status"] == "not yet" and hint in status[exercise_id]["message"]
    assert all(c["status"] == "not answered" for i, c in status.items() if i != exercise_id), checks
    shown = "".join(
        str(out.get("data", {}).get("text/plain", "")) + str(out.get("text", ""))
        for cell in run["notebook"].cells
        for out in cell.get("outputs", [])
    )
    assert "NOT YET" in shown and shown.count("NOT ANSWERED YET") == len(ids) - 1
