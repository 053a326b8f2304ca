"""Run-time settings: fast mode, seeds, and where the lab keeps its files.

Environment variables
---------------------
LABKIT_FAST   "1" (also "true", "yes") shrinks every workload: fewer samples,
              iterations and sweep points, the same code path. Tests and CI set it.
LABKIT_HOME   the lab's home folder (default ``~/.labkit``): the ResultStore
              (``results.sqlite``) and the cache (``cache/``) live there.
LABKIT_SEED   the teaching seed (default 1234): every lab function's ``rng=None``.
LABKIT_TECHNIQUES  extra technique modules (comma-separated) whose ``TECHNIQUE``
              joins the registry (:mod:`labkit.techniques`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import numpy as np

from .errors import InvalidInput

T = TypeVar("T")

DEFAULT_SEED = 1234
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def fast() -> bool:
    """True when ``LABKIT_FAST`` asks for the shrunken workloads."""
    value = os.environ.get("LABKIT_FAST", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(f"LABKIT_FAST={value!r} is not understood: use 1 or 0.")


def pick(full: T, fast_value: T) -> T:
    """Return ``fast_value`` in fast mode and ``full`` otherwise.

    >>> pick(1000, 10) == (10 if fast() else 1000)
    True
    """
    return fast_value if fast() else full


def seed() -> int:
    """The teaching seed, from ``LABKIT_SEED`` (default 1234)."""
    raw = os.environ.get("LABKIT_SEED", str(DEFAULT_SEED))
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"LABKIT_SEED={raw!r} must be an integer.") from None


def rng(value: int | np.random.Generator | None = None) -> np.random.Generator:
    """A numpy Generator: pass through a Generator, seed from an int, or use :func:`seed`."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        value = seed()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInput(f"rng must be an int seed or a numpy Generator, not {type(value).__name__}.")
    return np.random.default_rng(int(value))


def seed_from(value: int | np.random.Generator | None = None) -> int:
    """An int seed (for torch and other libraries) from the lab's one convention, ``rng=``.

    Every lab function takes ``rng``: an int seed, a numpy Generator, or None for
    ``LABKIT_SEED``. A Generator gives a fresh seed drawn from it.

    >>> seed_from(7)
    7
    >>> seed_from(None) == seed()
    True
    """
    if value is None:
        return seed()
    if isinstance(value, np.random.Generator):
        return int(value.integers(0, 2**31 - 1))
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInput(f"rng must be an int seed or a numpy Generator, not {type(value).__name__}.")
    return int(value)


def home() -> Path:
    """The lab's home folder (``LABKIT_HOME`` or ``~/.labkit``), created on demand."""
    path = Path(os.environ.get("LABKIT_HOME") or Path.home() / ".labkit").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(*parts: str) -> Path:
    """A folder under ``home()/cache`` (e.g. ``cache_dir("zk")``), created on demand."""
    path = home().joinpath("cache", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def folder_usage(folder: Path) -> tuple[int, int]:
    """Files and bytes below ``folder`` (0, 0 when it does not exist)."""
    files = [f for f in folder.rglob("*") if f.is_file()] if folder.is_dir() else []
    return len(files), sum(f.stat().st_size for f in files)


def store_path() -> Path:
    """Default path of the ResultStore file."""
    return home() / "results.sqlite"


def repo_root() -> Path:
    """The project folder when labkit runs from a checkout (holds ``datasets/``)."""
    return Path(__file__).resolve().parent.parent


FAST_ON_TEXT = (
    "Fast mode is on (LABKIT_FAST=1): every workload is shrunk for a quick pass, so the numbers are "
    "noisier than a full run's. To switch: run `%env LABKIT_FAST=0` in a cell, then Run > Run All Cells "
    "(full mode takes longer and needs more memory)."
)
FAST_OFF_TEXT = (
    "Full mode (LABKIT_FAST is off): full-size workloads. For a quick pass: run `%env LABKIT_FAST=1` "
    "in a cell, then Run > Run All Cells."
)


class Banner:
    """The mode banner a notebook shows in its first cell (text in a terminal, a coloured box in Jupyter)."""

    def __init__(self, is_fast: bool):
        self.fast = is_fast
        self.text = FAST_ON_TEXT if is_fast else FAST_OFF_TEXT

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        import html

        colour = "#fff4ce; border-left: 4px solid #d9a400" if self.fast else "#eef3fb; border-left: 4px solid #5b7db1"
        body = html.escape(self.text).replace("`%env", "<code>%env").replace("=0`", "=0</code>")
        body = body.replace("=1`", "=1</code>")
        return f'<div class="labkit-mode" style="background: {colour}; padding: 6px 10px">{body}</div>'


def banner(*, show: bool = True) -> Banner:
    """Show which mode the lab runs in, and how to switch (every notebook's first cell calls it).

    Displayed in Jupyter (an HTML box with a plain-text fallback), printed elsewhere.

    Parameters
    ----------
    show : bool, optional
        Display it now (default); ``False`` only returns it.

    Returns
    -------
    Banner
        ``.fast`` is the mode, ``.text`` the message.

    >>> b = banner(show=False)
    >>> b.fast == fast() and ("Fast mode is on" in b.text) == fast()
    True
    """
    result = Banner(fast())
    if show:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            get_ipython = None
        if get_ipython is not None and get_ipython() is not None:
            display(result)
        else:
            print(result.text)
    return result
