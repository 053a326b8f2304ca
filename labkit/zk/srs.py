"""The structured reference string (SRS): the public setup a KZG-based SNARK needs.

ezkl's proofs (Halo2 with KZG commitments) rest on a reference string made of
powers of a secret tau. Whoever knows tau can forge proofs, so production
systems use the output of a multi-party ceremony. Nothing is downloaded in
the lab: by default :func:`reference_string` generates one locally with
``ezkl.gen_srs``, whose tau is known to this machine. That is fine for
learning and measuring, and useless for security: every Result made with it
carries the "not for production" flag. Point ``path`` at a ceremony file of
your own to use it instead.

References
----------
Kate, Zaverucha, Goldberg, "Constant-size commitments to polynomials and
their applications", ASIACRYPT 2010 (KZG).
ezkl documentation, "Setup": https://docs.ezkl.xyz/
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import config, validate
from ..errors import InvalidInput
from . import backend

MIN_LOGROWS = 4
MAX_LOGROWS = 24


@dataclass(frozen=True)
class ReferenceString:
    """A reference-string file and where it came from."""

    path: Path
    logrows: int
    development: bool  # True: generated here with a known secret (not for production)

    @property
    def size(self) -> int:
        """Bytes of the reference-string file."""
        return self.path.stat().st_size


def srs_dir() -> Path:
    """Where locally generated reference strings are kept (one file per size)."""
    return config.cache_dir("zk", "srs")


def reference_string(logrows: int, *, path: str | os.PathLike | None = None) -> ReferenceString:
    """A reference string for circuits of ``2**logrows`` rows.

    Parameters
    ----------
    logrows : int
        The circuit size (from the calibrated settings).
    path : path-like, optional
        A reference-string file you trust (from a ceremony). When omitted, a
        development string is generated once per size and cached.

    Returns
    -------
    ReferenceString
        ``development`` is True for a locally generated string.
    """
    logrows = validate.integer("logrows", logrows, low=MIN_LOGROWS, high=MAX_LOGROWS)
    if path is not None:
        given = Path(path)
        if not given.is_file() or given.stat().st_size == 0:
            raise InvalidInput(f"reference string {given} does not exist or is empty; give the path of an SRS file.")
        return ReferenceString(given, logrows, development=False)
    target = srs_dir() / f"dev_k{logrows}.srs"
    if not target.exists():
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        backend.call("gen_srs", partial, logrows)
        os.replace(partial, target)  # atomic: a concurrent run sees either nothing or the whole file
    return ReferenceString(target, logrows, development=True)
