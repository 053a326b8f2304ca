"""The trainer guide's timing table is generated from the notebook harness's measurements."""

from __future__ import annotations

import json

import pytest

from labkit import workshop
from labkit.errors import InvalidInput

NOTEBOOKS = sorted(p.stem for p in (workshop.ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_guide_table_is_the_published_measurements():
    times = workshop.load()
    guide = workshop.GUIDE.read_text()
    assert workshop.render(guide, times) == guide, "docs/workshop.md is stale: run `make docs` after the notebook tests"


def test_every_notebook_is_measured_in_both_modes_on_two_cores_within_2gb():
    times = workshop.load()
    assert sorted(times) == NOTEBOOKS
    for name in NOTEBOOKS:
        for mode in workshop.MODES:
            entry = times[name].get(mode)
            assert entry is not None, f"{name} has no {mode}-mode measurement"
            assert entry["cores"] == 2, f"{name} ({mode}) was measured on {entry['cores']} cores, not CI's 2"
            assert entry["seconds"] > 0 and 0 < entry["peak_mb"] < 2048


def test_publish_merges_new_runs_and_rewrites_only_the_table(tmp_path):
    measured, published, guide = tmp_path / "m.json", tmp_path / "p.json", tmp_path / "g.md"
    published.write_text(json.dumps({"01_he": {"full": {"seconds": 300.0, "peak_mb": 900.0, "cores": 2}}}))
    measured.write_text(
        json.dumps({"01_he": {"fast": {"seconds": 12.3, "peak_mb": 512.0, "cores": 2, "slowest_cells": []}}})
    )
    guide.write_text(f"intro\n{workshop.START}\nold table\n{workshop.END}\noutro\n")
    merged = workshop.publish(measured, published=published, guide=guide)
    assert merged == {
        "01_he": {
            "fast": {"seconds": 12.3, "peak_mb": 512.0, "cores": 2},
            "full": {"seconds": 300.0, "peak_mb": 900.0, "cores": 2},
        }
    }
    text = guide.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "old table" not in text
    assert "| 01_he | 12 s | 512 MB | 300 s | 900 MB |" in text
    assert "| **total** | **12 s** | max 512 MB | **300 s** | max 900 MB |" in text
    # a hand edit of a figure no longer matches what the measurements generate
    assert workshop.render(text.replace("300 s", "200 s"), merged) != text.replace("300 s", "200 s")


def test_refuses_a_guide_without_markers_and_a_foreign_file(tmp_path):
    with pytest.raises(InvalidInput, match="markers"):
        workshop.render("no markers here", {})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"00": {"slow": {"seconds": 1}}}))
    with pytest.raises(InvalidInput, match="not a notebook measurement"):
        workshop.load(bad)
