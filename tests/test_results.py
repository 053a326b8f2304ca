import json
import multiprocessing as mp
import sqlite3

import pytest

from labkit import bench
from labkit.errors import InvalidInput, StoreError
from labkit.results import NOT_FOR_PRODUCTION, SCHEMA_VERSION, Result, ResultStore, environment


def _result(name="run", **kw):
    kw.setdefault("metrics", {"accuracy": 0.9})
    return Result("demo", name, **kw)


def test_result_captures_environment_and_round_trips():
    r = _result(params={"n": 3}, timings={"t": bench.Timing("t", (0.1, 0.2))}, artifacts={"size": 10})
    env = r.environment
    assert env["cores"] >= 1 and env["python"].startswith("3.") and "numpy" in env["packages"]
    back = Result.from_dict(json.loads(r.to_json()))
    assert back.to_dict() == r.to_dict()


def test_result_validates_metrics_and_names():
    with pytest.raises(InvalidInput, match="number"):
        _result(metrics={"acc": "high"})
    with pytest.raises(InvalidInput, match="NaN"):
        _result(metrics={"acc": float("nan")})
    with pytest.raises(InvalidInput, match="technique"):
        Result("", "x")
    with pytest.raises(InvalidInput, match="JSON"):
        _result(params={"f": object()})


def test_flags_are_visible_in_html_and_text():
    r = _result().flag(NOT_FOR_PRODUCTION).flag(NOT_FOR_PRODUCTION)
    assert r.flags == [NOT_FOR_PRODUCTION] and r.insecure
    assert NOT_FOR_PRODUCTION in r._repr_html_() and NOT_FOR_PRODUCTION in str(r)


def test_add_overhead_records_ratio_and_timings():
    ov = bench.Overhead(bench.Timing("c", (2.0, 2.2)), bench.Timing("b", (1.0, 1.0)), (2.0, 2.2))
    r = _result().add_overhead("overhead", ov)
    assert r.metrics["overhead"] == pytest.approx(2.1)
    assert {"overhead.candidate", "overhead.baseline"} <= set(r.timings)


def test_store_add_query_latest(tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    a = _result(params={"eps": 1.0}, created=1.0)
    b = _result(params={"eps": 2.0}, created=2.0)
    c = Result("other", "x", created=3.0)
    store.add_many([a, b, c])
    assert len(store) == 3 and store.techniques() == {"demo": 2, "other": 1}
    assert [r.id for r in store.query("demo")] == [b.id, a.id]
    assert store.latest("demo", "run", {"eps": 1.0}).id == a.id
    assert store.latest("demo", "run", {"eps": 9.0}) is None
    assert store.get(c.id).technique == "other"
    with pytest.raises(KeyError):
        store.get("nope")


def test_store_rejects_foreign_files_and_leaves_them_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("my thesis, do not overwrite")
    with pytest.raises(StoreError, match="not a ResultStore"):
        ResultStore(text)
    assert text.read_text() == "my thesis, do not overwrite"

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a ResultStore"):
        ResultStore(other)
    assert other.read_bytes() == before

    with pytest.raises(StoreError, match="folder"):
        ResultStore(tmp_path)


def test_store_refuses_newer_schema(tmp_path):
    path = tmp_path / "s.sqlite"
    ResultStore(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match="newer"):
        ResultStore(path)


def test_store_rejects_non_results(tmp_path):
    with pytest.raises(InvalidInput):
        ResultStore(tmp_path / "s.sqlite").add({"technique": "x"})


def test_merge_adds_only_new_results(tmp_path):
    mine, theirs = ResultStore(tmp_path / "a.sqlite"), ResultStore(tmp_path / "b.sqlite")
    shared = _result("shared")
    mine.add(shared)
    theirs.add_many([shared, _result("new1"), _result("new2")])
    assert mine.merge(theirs.path) == 2 and len(mine) == 3
    assert mine.merge(theirs) == 0 and mine.merge(mine) == 0


def _writer(path, worker, n):
    store = ResultStore(path)
    for i in range(n):
        store.add(Result("demo", f"w{worker}", params={"i": i}, metrics={"i": i}, environment={}))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "s.sqlite"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(ResultStore(path)) == 100


def test_environment_is_cheap_and_cached():
    assert environment()["packages"] is environment()["packages"]


def test_merge_of_a_store_with_a_malformed_row_names_the_file_and_row(tmp_path):
    other = ResultStore(tmp_path / "other.sqlite")
    other.add_many([Result("he", "a", metrics={"x": 1.0}), Result("he", "b", metrics={"x": 2.0})])
    bad_id = other.query(name="b")[0].id
    with sqlite3.connect(other.path) as conn:
        conn.execute("UPDATE results SET payload = ? WHERE id = ?", ("{not json", bad_id))
    mine = ResultStore(tmp_path / "mine.sqlite")
    mine.add(Result("dp", "kept", metrics={"y": 3.0}))
    with pytest.raises(StoreError, match=rf"other\.sqlite: the row with id '{bad_id}' is not a valid Result"):
        mine.merge(other.path)
    assert [r.name for r in mine.query()] == ["kept"]  # nothing half-merged
