"""The thin layer between labkit and the ezkl Python bindings.

Every ezkl call in the lab goes through :func:`call`, which imports ezkl on
first use (a clear :class:`~labkit.errors.BackendUnavailable` when it cannot),
waits for the result when a binding returns an awaitable (some ezkl releases
made ``get_srs`` and ``calibrate_settings`` asynchronous), and works inside a
running event loop (Jupyter) as well as outside one.

References
----------
ezkl documentation, Python bindings: https://docs.ezkl.xyz/
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
from functools import lru_cache
from importlib import metadata
from typing import Any

from ..errors import BackendUnavailable


@lru_cache(maxsize=1)
def ezkl():
    """The ezkl module, imported on first use.

    ezkl reports progress (range-check columns, calibration tables) as Python
    log warnings; unless the caller configured the "ezkl" logger, only its
    errors are shown.
    """
    try:
        import ezkl as module
    except ImportError as exc:  # pragma: no cover - the lab environment has it
        raise BackendUnavailable("ezkl", f"import failed ({exc})") from exc
    logger = logging.getLogger("ezkl")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.ERROR)
    return module


def version() -> str:
    """The installed ezkl version (from package metadata)."""
    try:
        return metadata.version("ezkl")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def resolve(value: Any) -> Any:
    """Wait for ``value`` when it is awaitable, in or out of a running event loop (Jupyter runs one)."""
    if not inspect.isawaitable(value):
        return value

    async def _wait():
        return await value

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_wait())
    # A loop already runs in this thread (Jupyter): wait in a helper thread with its own loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _wait()).result()


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``ezkl.<name>(*args, **kwargs)`` and return its (awaited) result.

    Paths are passed as strings. Errors from ezkl propagate unchanged; the
    callers turn them into lab errors with a sentence about what to change.
    """
    fn = getattr(ezkl(), name)
    args = tuple(str(a) if hasattr(a, "__fspath__") else a for a in args)
    kwargs = {k: (str(v) if hasattr(v, "__fspath__") else v) for k, v in kwargs.items()}
    return resolve(fn(*args, **kwargs))


def felt_to_float(felt: str, scale: int) -> float:
    """A field element (ezkl's little-endian hex) as the real number it encodes at ``scale``."""
    return float(call("felt_to_float", felt, scale))
