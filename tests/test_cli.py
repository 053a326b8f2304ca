import json

from labkit import cli
from labkit.results import Result, ResultStore


def test_setup_jupyter_merges_default_viewer(tmp_path):
    path = cli.overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"other-plugin": {"x": 1}, "@jupyterlab/docmanager-extension:plugin": {"a": 2}}))
    cli.setup_jupyter(tmp_path)
    data = json.loads(path.read_text())
    assert data["other-plugin"] == {"x": 1}
    section = data["@jupyterlab/docmanager-extension:plugin"]
    assert section["a"] == 2 and section["defaultViewers"]["python"] == "Jupytext Notebook"


def test_lab_command_binds_loopback_on_notebooks():
    cmd = cli.lab_command(port=9123, open_browser=False)
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--ServerApp.port=9123" in cmd
    root = next(a for a in cmd if a.startswith("--ServerApp.root_dir="))
    assert root.endswith("notebooks")


def test_results_list_and_merge(tmp_path, capsys):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    ResultStore(b).add(Result("dp", "sweep", metrics={"eps": 1.0}))
    assert cli.main(["results", "merge", str(b), "--store", str(a)]) == 0
    assert "merged 1" in capsys.readouterr().out
    assert cli.main(["results", "--store", str(a)]) == 0
    assert "dp" in capsys.readouterr().out


def test_store_errors_are_messages_not_tracebacks(tmp_path, capsys):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database")
    assert cli.main(["results", "--store", str(bad)]) == 2
    assert "not a ResultStore" in capsys.readouterr().err


def test_cache_lists_sizes_and_clears_one_lab(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    (tmp_path / "cache" / "zk" / "circuits").mkdir(parents=True)
    (tmp_path / "cache" / "zk" / "circuits" / "pk.key").write_bytes(b"k" * 3_000_000)
    (tmp_path / "cache" / "he").mkdir()
    (tmp_path / "cache" / "he" / "w.npz").write_bytes(b"w" * 1000)
    assert cli.cache_usage() == {"he": (1, 1000), "zk": (1, 3_000_000)}
    assert cli.main(["cache"]) == 0
    out = capsys.readouterr().out
    assert "zk" in out and "3.0 MB" in out and "he" in out
    assert cli.main(["cache", "zk", "--clear"]) == 0
    assert "freed 3.0 MB (zk)" in capsys.readouterr().out
    assert cli.cache_usage() == {"he": (1, 1000)}


def test_cache_of_an_unknown_lab_is_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    assert cli.main(["cache", "nope", "--clear"]) == 2
    assert "no cache for 'nope'" in capsys.readouterr().err
