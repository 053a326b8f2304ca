"""The technique registry: one descriptor per technique, with the same doors in each.

Every technique package (``labkit.he``, ``labkit.zk``...) declares one
:class:`Technique` in its ``technique`` module. The central modules
(``benchmarks``, ``claims``, ``report``, ``overview``, ``doctor``, ``cli`` and
the dashboard) iterate over :func:`registry` and never name a technique, so
adding one is one package plus one line in :data:`MODULES`.

The doors of a descriptor:

- identity: ``key``, ``title``, the data state it protects, the adversary,
  its notebooks, and the row of the overview chart (``protection``);
- ``checks``: its real operations for ``labkit doctor`` (:class:`Check`);
- ``benchmark(*, store, progress) -> list[Result]``: its standard benchmark
  (fast mode shrinks it), always ``<package>.benchmark:benchmark``;
- ``claim``, ``anchors`` and ``further_claims``: what the lab checks, declared
  once, judged by :func:`labkit.report.verdict`; ``readings(store)`` gives
  the measured figures for the claims check;
- ``points(results)``: what it puts on the overhead-vs-protection chart;
- ``support(workload, *, budget_bytes) -> Support``: can it run this model, and
  at what cost and memory (an estimate, in seconds, before any cryptography);
- ``assess(workload, *, support, progress, fast) -> Result``: the technique on a
  user's model and data (see :mod:`labkit.assessment`).

A door may be given as a callable or as a ``"module:function"`` string,
imported on first use, so reading the registry imports no backend.

Extra techniques can be registered from outside labkit: ``LABKIT_TECHNIQUES``
names modules (comma-separated) whose ``TECHNIQUE`` joins the registry, in
this process and in the subprocesses labkit starts (``labkit doctor`` runs
each check in one); :func:`register` adds one in this process only.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from .claims import Claim, Reading
    from .overview import Point
    from .results import Result, ResultStore
    from .workload import Support

# The lab's own techniques, in the order the report and the dashboard list them.
MODULES: tuple[str, ...] = (
    "labkit.he.technique",
    "labkit.zk.technique",
    "labkit.mpc.technique",
    "labkit.dp.technique",
    "labkit.tee.technique",
    "labkit.pqc.technique",
    "labkit.inversion.technique",
)

ENV_EXTRA = "LABKIT_TECHNIQUES"


class Door:
    """A callable named by ``"module:function"``, imported at its first call.

    >>> d = Door("math:sqrt")
    >>> d(9.0), d.ref
    (3.0, 'math:sqrt')
    """

    def __init__(self, ref: str):
        module, sep, name = ref.partition(":")
        if not sep or not module or not name:
            raise InvalidInput(f"a door is named 'module:function', not {ref!r}.")
        self.ref = ref
        self._fn: Callable | None = None

    def resolve(self) -> Callable:
        """Import the named function (once) and return it."""
        if self._fn is None:
            module, _, name = self.ref.partition(":")
            target: Any = importlib.import_module(module)
            for part in name.split("."):
                target = getattr(target, part)
            self._fn = target
        return self._fn

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Door({self.ref!r})"


def door(fn: str | Callable | None) -> Callable | None:
    """A door from a callable or a ``"module:function"`` string (None stays None)."""
    return Door(fn) if isinstance(fn, str) else fn


def signature(fn: Callable) -> inspect.Signature:
    """The parameters of a door (a :class:`Door` is imported to read them) or of any callable."""
    return inspect.signature(fn.resolve() if isinstance(fn, Door) else fn)


@dataclass(frozen=True)
class Check:
    """One real operation ``labkit doctor`` runs (in its own process) to show a backend works.

    ``smoke`` does the operation and returns a short detail, raising on failure.
    ``required``: a failure makes ``labkit doctor`` exit non-zero.
    """

    name: str
    operation: str
    distributions: tuple[str, ...]
    smoke: str | Callable[[], str]
    required: bool = True

    def run(self) -> str:
        """Run the operation here, in this process."""
        return door(self.smoke)()


@dataclass(frozen=True)
class Technique:
    """A technique's descriptor: identity, claims and the doors the central modules call.

    Parameters
    ----------
    key : str
        Short name used in Results, ``labkit bench KEY`` and the registry ("he").
    title : str
        What a reader calls it ("Homomorphic encryption (CKKS, BGV/BFV)").
    data_state : str
        The state of the data it protects: "at rest", "in transit", "in use" or "output".
    protects : str
        One sentence: what it keeps from whom.
    adversary : str
        The threat model it answers.
    notebooks : tuple of str
        Notebook stems that explore it, the main one first.
    protection : str
        Its row on the overview chart (one of :data:`labkit.claims.PROTECTIONS`).
    best_use : str
        Where it fits best.
    color : str
        Its colour on charts.
    claim : Claim or None
        The headline cost claim, a time ratio against plaintext.
    anchors : tuple of str
        Published figures that anchor the claim, with their sources.
    further_claims : mapping
        Other claims it checks, keyed ``"<key>.<what>"``, with their anchors.
    bench_title : str
        One line saying what ``benchmark`` measures.
    headline : tuple of str
        The metrics ``labkit bench`` shows for its Results (default: chosen by name).
    checks : tuple of Check
        Its operations for ``labkit doctor``.
    benchmark, readings, points, support, assess : callable or "module:function"
        The doors (see the module docstring). A technique without ``support``
        and ``assess`` answers "not built yet" with a reason (and
        :attr:`assessable` is False).
    """

    key: str
    title: str
    data_state: str
    protects: str
    adversary: str
    notebooks: tuple[str, ...]
    protection: str
    best_use: str = ""
    color: str = "#888888"
    claim: Claim | None = None
    anchors: tuple[str, ...] = ()
    further_claims: Mapping[str, tuple[Claim, tuple[str, ...]]] = field(default_factory=dict)
    bench_title: str = ""
    headline: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    benchmark: str | Callable[..., list[Result]] | None = None
    readings: str | Callable[[ResultStore], list[Reading]] | None = None
    points: str | Callable[[list[Result]], list[Point]] | None = None
    support: str | Callable[..., Support] | None = None
    assess: str | Callable[..., Result] | None = None

    def __post_init__(self):
        if not self.key.isidentifier() or self.key != self.key.lower():
            raise InvalidInput(f"a technique key is a lower-case identifier, not {self.key!r}.")
        if not self.notebooks:
            raise InvalidInput(f"technique {self.key!r} names no notebook.")
        object.__setattr__(self, "further_claims", MappingProxyType(dict(self.further_claims)))
        for name in ("benchmark", "readings", "points", "support", "assess"):
            object.__setattr__(self, name, door(getattr(self, name)))
        if self.assess is None:
            object.__setattr__(self, "assess", self._not_yet_assessed)

    @property
    def assessable(self) -> bool:
        """True when it has both assess doors (support check and assess)."""
        return self.support is not None and self.assess != self._not_yet_assessed

    def assess_options(self) -> dict[str, Any]:
        """The assess door's own keyword options beyond the common ones (``support``, ``progress``, ``fast``),
        each with its default: what ``labkit.assess(..., options={key: {...}})`` and ``labkit assess -o`` take."""
        common = {"support", "progress", "fast"}
        return {
            name: (None if p.default is inspect.Parameter.empty else p.default)
            for name, p in signature(self.assess).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in common
        }

    @property
    def lab(self) -> str:
        """The main notebook's stem."""
        return self.notebooks[0]

    def run_benchmark(self, *, store: ResultStore, progress: bool = False) -> list[Result]:
        """Run the standard benchmark, store its Results (idempotent: same id replaces itself), return them."""
        if self.benchmark is None:
            raise InvalidInput(f"the {self.key!r} technique has no benchmark.")
        from .results import Result

        found = list(self.benchmark(store=store, progress=progress))
        bad = [type(r).__name__ for r in found if not isinstance(r, Result)]
        if bad:
            raise TypeError(f"{self.key}'s benchmark returned a {bad[0]}, not a Result")
        store.add_many(found)
        return found

    def claim_readings(self, store: ResultStore) -> list[Reading]:
        """Its readings for the claims check (none when it checks no claim)."""
        return list(self.readings(store)) if self.readings is not None else []

    def chart_points(self, results: list[Result]) -> list[Point]:
        """Its points on the overview chart from its newest Results."""
        return list(self.points(results)) if self.points is not None else []

    def _not_yet_assessed(self, workload: Any, **_options: Any) -> Result:
        from .results import Result

        reason = (
            f"assessing a user's own model and data is not built yet for {self.title}; "
            f"the lab's own benchmark (labkit bench {self.key}) measures it on the built-in workloads."
        )
        return Result(
            self.key,
            "assess",
            params={"workload": getattr(workload, "name", str(workload))},
            metrics={"supported": 0},
            artifacts={"unsupported": [{"node": "", "op": "", "reason": reason, "suggestion": ""}]},
        )


_REGISTERED: dict[str, Technique] = {}


def _load(module: str) -> Technique:
    try:
        found = importlib.import_module(module).TECHNIQUE
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"{module} declares no technique (a module-level TECHNIQUE): {exc}") from None
    if not isinstance(found, Technique):
        raise InvalidInput(f"{module}.TECHNIQUE is a {type(found).__name__}, not a labkit Technique.")
    return found


def extra_modules() -> tuple[str, ...]:
    """Modules named by ``LABKIT_TECHNIQUES`` (comma-separated)."""
    return tuple(m.strip() for m in os.environ.get(ENV_EXTRA, "").split(",") if m.strip())


def registry() -> tuple[Technique, ...]:
    """Every registered technique: the lab's own in :data:`MODULES` order, then the extra ones."""
    out: dict[str, Technique] = {}
    for module in (*MODULES, *extra_modules()):
        t = _load(module)
        out.setdefault(t.key, t)
    for key, t in _REGISTERED.items():
        out.setdefault(key, t)
    return tuple(out.values())


def known_keys() -> tuple[str, ...]:
    """The registered techniques' keys."""
    return tuple(t.key for t in registry())


def get(key: str) -> Technique:
    """The technique registered as ``key``; an unknown key is an error listing the known ones."""
    for t in registry():
        if t.key == key:
            return t
    raise InvalidInput(f"unknown technique {key!r}; known: {', '.join(known_keys())}.")


def register(technique: Technique) -> Technique:
    """Add ``technique`` to the registry of this process (replacing one of the same key)."""
    if not isinstance(technique, Technique):
        raise InvalidInput(f"register takes a Technique, not {type(technique).__name__}.")
    _REGISTERED[technique.key] = technique
    return technique


def unregister(key: str) -> None:
    """Remove a technique added with :func:`register` (the lab's own stay)."""
    _REGISTERED.pop(key, None)


def select(wanted: Iterable[str] | None) -> list[Technique]:
    """The techniques named (all when none), in registry order; an unknown name lists the known ones."""
    wanted = list(wanted or [])
    known = registry()
    unknown = [k for k in wanted if k not in {t.key for t in known}]
    if unknown:
        raise InvalidInput(f"unknown technique {unknown[0]!r}; known: {', '.join(t.key for t in known)}.")
    return [t for t in known if not wanted or t.key in wanted]
