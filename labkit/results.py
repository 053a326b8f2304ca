"""The Result record every lab returns, and the SQLite ResultStore that keeps them.

A :class:`Result` holds what a run measured: its parameters, numeric metrics,
timings, small artifacts and the environment it ran in, plus flags such as
"not for production" that must stay visible wherever the Result is shown.
The :class:`ResultStore` keeps Results in one SQLite file so the dashboard
and ``labkit report`` can compare runs across labs and machines.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import platform
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from . import __version__, bench, config
from .errors import InvalidInput, StoreError

T = TypeVar("T")

SCHEMA_VERSION = 1
APPLICATION = "labkit-results"
NOT_FOR_PRODUCTION = "not for production"

# Distributions whose versions are recorded with every Result (read from
# package metadata; nothing is imported).
TRACKED_PACKAGES = (
    "numpy",
    "torch",
    "tenseal",
    "openfhe",
    "crypten",
    "ezkl",
    "opacus",
    "cryptography",
    "pyopenssl",
    "scikit-learn",
    "plotly",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _total_ram() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:  # pragma: no cover
        return None


@lru_cache(maxsize=1)
def _static_environment() -> dict[str, Any]:
    versions = {}
    for dist in TRACKED_PACKAGES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return {
        "labkit": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores": bench.cpu_count(),
        "ram_bytes": _total_ram(),
        # A stable, non-identifying machine tag so merged stores can tell machines apart.
        "machine_id": hashlib.sha256(f"{platform.node()}|{_cpu_model()}".encode()).hexdigest()[:12],
        "packages": versions,
    }


def environment() -> dict[str, Any]:
    """What this run is on: CPU, cores, RAM, Python, library versions, fast mode."""
    env = dict(_static_environment())
    env["fast"] = config.fast()
    return env


def _check_number(key: str, value: Any) -> float | int | bool:
    if isinstance(value, (bool, int)):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"metric {key!r} must be a number, not {type(value).__name__}.") from None
    if math.isnan(number):
        raise InvalidInput(f"metric {key!r} is NaN; record a number or leave it out.")
    return number


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: equal params give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def params_key(params: dict[str, Any]) -> str:
    """A hash of the canonical parameters, used to find an earlier run of the same point."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


@dataclass
class Result:
    """One run of one lab function.

    Parameters
    ----------
    technique : str
        The room: "he", "inversion", "zk", "mpc", "dp", "tee", "pqc", ...
    name : str
        What was run, e.g. "logreg_inference".
    params : dict
        The plain, JSON-serialisable parameters of the run.
    metrics : dict
        Numbers only (accuracy, PSNR, epsilon, bytes, overhead ratios...).
    timings : dict
        ``bench.Timing`` by name.
    artifacts : dict
        Small JSON-serialisable extras (sizes, paths, short strings).
    environment : dict
        Filled by :func:`environment` when omitted.
    flags : list of str
        Warnings that must stay visible, e.g. ``NOT_FOR_PRODUCTION``.
    """

    technique: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, bench.Timing] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=environment)
    flags: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.time)

    def __post_init__(self):
        for label, value in (("technique", self.technique), ("name", self.name)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"Result {label} must be a non-empty string, not {value!r}.")
        self.metrics = {str(k): _check_number(k, v) for k, v in self.metrics.items()}
        for k, t in self.timings.items():
            if not isinstance(t, bench.Timing):
                raise InvalidInput(f"timing {k!r} must be a bench.Timing, not {type(t).__name__}.")
        try:
            canonical_json(self.params)
            canonical_json(self.artifacts)
        except TypeError as exc:
            raise InvalidInput(f"Result params and artifacts must be JSON-serialisable: {exc}.") from None

    # -- convenience -------------------------------------------------------
    def flag(self, text: str) -> Result:
        """Add a visible warning (once)."""
        if text not in self.flags:
            self.flags.append(text)
        return self

    @property
    def insecure(self) -> bool:
        """True when the Result is flagged not for production."""
        return NOT_FOR_PRODUCTION in self.flags

    def add_overhead(self, key: str, ov: bench.Overhead) -> Result:
        """Record an Overhead: both timings and ``metrics[key]`` = the ratio."""
        self.timings[f"{key}.candidate"] = ov.candidate
        self.timings[f"{key}.baseline"] = ov.baseline
        self.metrics[key] = ov.ratio
        self.metrics[f"{key}_low"] = ov.ratio_low
        self.metrics[f"{key}_high"] = ov.ratio_high
        return self

    # -- serialisation -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "id": self.id,
            "created": self.created,
            "technique": self.technique,
            "name": self.name,
            "params": self.params,
            "metrics": self.metrics,
            "timings": {k: t.to_dict() for k, t in self.timings.items()},
            "artifacts": self.artifacts,
            "environment": self.environment,
            "flags": list(self.flags),
        }

    def to_json(self) -> str:
        """The Result as one line of canonical JSON."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        """The inverse of :meth:`to_dict`; checks the metrics again."""
        return cls(
            technique=d["technique"],
            name=d["name"],
            params=d.get("params", {}),
            metrics=d.get("metrics", {}),
            timings={k: bench.Timing.from_dict(t) for k, t in d.get("timings", {}).items()},
            artifacts=d.get("artifacts", {}),
            environment=d.get("environment", {}),
            flags=list(d.get("flags", [])),
            id=d["id"],
            created=d["created"],
        )

    # -- display -----------------------------------------------------------
    def _repr_html_(self) -> str:
        esc = html.escape
        rows = [f"<tr><th style='text-align:left'>{esc(k)}</th><td>{v:.4g}</td></tr>" for k, v in self.metrics.items()]
        rows += [
            f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(str(t))}</td></tr>" for k, t in self.timings.items()
        ]
        flags = "".join(f"<div style='color:#b00020;font-weight:bold'>&#9888; {esc(f)}</div>" for f in self.flags)
        params = esc(", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        return (
            f"<div class='labkit-result'><b>{esc(self.technique)} / {esc(self.name)}</b>"
            f"<div style='color:#555'>{params}</div>{flags}"
            f"<table>{''.join(rows)}</table></div>"
        )

    def __str__(self) -> str:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items())
        flags = f" [{'; '.join(self.flags)}]" if self.flags else ""
        return f"{self.technique}/{self.name}: {metrics}{flags}"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY,
    technique TEXT NOT NULL,
    name TEXT NOT NULL,
    params_key TEXT NOT NULL,
    created REAL NOT NULL,
    machine_id TEXT,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_name ON results (technique, name, params_key);
"""

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class Outcome(Generic[T]):
    """What a lab function returns when it gives more than a Result: the value it made, and its Result.

    ``value`` is the thing itself (a reconstruction, a trained model, decrypted
    predictions...); ``result`` is the measurement that goes into the store.
    In a notebook an Outcome shows as its Result.
    """

    value: T
    result: Result

    def _repr_html_(self) -> str:
        return self.result._repr_html_()


class ResultStore:
    """Results in one SQLite file; safe for several writers at once.

    Opening a file that is not a ResultStore (another SQLite database, or
    not SQLite at all) raises :class:`StoreError` and leaves the file as it
    was. A missing or empty file becomes a new store.

    >>> import tempfile, os
    >>> store = ResultStore(os.path.join(tempfile.mkdtemp(), "r.sqlite"))
    >>> _ = store.add(Result("demo", "doctest", metrics={"x": 1.0}, environment={}))
    >>> len(store)
    1
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 30.0):
        self.path = Path(path) if path is not None else config.store_path()
        self.timeout = timeout
        self._check_file()
        with self._connect() as conn:
            self._init_or_validate(conn)

    # -- opening -----------------------------------------------------------
    def _check_file(self) -> None:
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder; give the path of a ResultStore file.")
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
            if head != _SQLITE_MAGIC:
                raise StoreError(
                    f"{self.path} is not a ResultStore (not an SQLite file); it was left untouched. "
                    "Point LABKIT_HOME or --store at another file."
                )
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open ResultStore {self.path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        return conn

    def _init_or_validate(self, conn: sqlite3.Connection) -> None:
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is corrupt or not a ResultStore ({exc}); it was left untouched.") from exc
        if not tables:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have created it between our check and the lock.
                if not conn.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone():
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        conn.execute(statement)
                    conn.executemany(
                        "INSERT INTO meta VALUES (?, ?)",
                        [("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION))],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        if meta.get("application") != APPLICATION:
            raise StoreError(f"{self.path} is an SQLite database but not a ResultStore; it was left untouched.")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this labkit ({SCHEMA_VERSION}); "
                "upgrade labkit to read it."
            )

    # -- writing -----------------------------------------------------------
    def add(self, result: Result) -> str:
        """Store one Result (transactionally); returns its id."""
        return self.add_many([result])[0]

    def add_many(self, results: Iterable[Result]) -> list[str]:
        """Store several Results in one transaction: all or none."""
        rows = []
        for r in results:
            if not isinstance(r, Result):
                raise InvalidInput(f"ResultStore stores Result objects, not {type(r).__name__}.")
            rows.append(
                (
                    r.id,
                    r.technique,
                    r.name,
                    params_key(r.params),
                    r.created,
                    r.environment.get("machine_id"),
                    r.to_json(),
                )
            )
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return [row[0] for row in rows]

    def merge(self, other: str | os.PathLike | ResultStore) -> int:
        """Copy in every Result of another store not already here; returns how many."""
        source = other if isinstance(other, ResultStore) else ResultStore(other)
        if source.path.resolve() == self.path.resolve():
            return 0
        have = {r[0] for r in self._rows("SELECT id FROM results", ())}
        new = [r for r in source.query() if r.id not in have]
        self.add_many(new)
        return len(new)

    # -- reading -----------------------------------------------------------
    def _rows(self, sql: str, args: tuple) -> list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute(sql, args).fetchall()

    def query(
        self,
        technique: str | None = None,
        name: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[Result]:
        """Results matching every filter given, newest first."""
        where, args = [], []
        for column, value in (("technique", technique), ("name", name)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if params is not None:
            where.append("params_key = ?")
            args.append(params_key(params))
        if since is not None:
            where.append("created >= ?")
            args.append(since)
        sql = "SELECT id, payload FROM results"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._decode(row_id, payload) for row_id, payload in self._rows(sql, tuple(args))]

    def _decode(self, row_id: str, payload: str) -> Result:
        """One stored row as a Result; a malformed row is a StoreError naming the file and the row."""
        try:
            return Result.from_dict(json.loads(payload))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"{self.path}: the row with id {row_id!r} is not a valid Result ({type(exc).__name__}: {exc}). "
                "The file was changed outside labkit; remove that row or restore the file from a copy."
            ) from None

    def latest(self, technique: str, name: str, params: dict[str, Any] | None = None) -> Result | None:
        """The newest Result of this technique and name (and exact params, if given)."""
        found = self.query(technique, name, params=params, limit=1)
        return found[0] if found else None

    def get(self, result_id: str) -> Result:
        """The Result with this id; KeyError when the store has none."""
        rows = self._rows("SELECT payload FROM results WHERE id = ?", (result_id,))
        if not rows:
            raise KeyError(f"no Result with id {result_id!r} in {self.path}")
        return Result.from_dict(json.loads(rows[0][0]))

    def techniques(self) -> dict[str, int]:
        """How many Results each technique has."""
        rows = self._rows("SELECT technique, COUNT(*) FROM results GROUP BY technique ORDER BY technique", ())
        return {r[0]: r[1] for r in rows}

    def __len__(self) -> int:
        return self._rows("SELECT COUNT(*) FROM results", ())[0][0]

    def __iter__(self) -> Iterator[Result]:
        return iter(self.query())

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, {len(self)} results)"
