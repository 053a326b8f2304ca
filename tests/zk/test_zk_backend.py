"""The ezkl layer: awaitable results (in and out of an event loop), reference strings."""

from __future__ import annotations

import asyncio

import pytest

from labkit.errors import InvalidInput
from labkit.zk import backend
from labkit.zk.srs import reference_string


async def _answer():
    await asyncio.sleep(0)
    return 42


def test_resolve_plain_and_awaitable_values():
    assert backend.resolve(7) == 7
    assert backend.resolve(_answer()) == 42


def test_resolve_inside_a_running_loop():  # as in Jupyter
    async def inside():
        return backend.resolve(_answer())

    assert asyncio.run(inside()) == 42


def test_development_reference_string_is_cached_and_flagged(tiny):
    srs = reference_string(tiny.logrows)
    assert srs.development and srs.path == tiny.circuit.srs.path and srs.size > 0


def test_own_reference_string_file(tmp_path, tiny):
    own = tmp_path / "ceremony.srs"
    own.write_bytes(tiny.circuit.srs.path.read_bytes())
    srs = reference_string(tiny.logrows, path=own)
    assert not srs.development and srs.path == own
    with pytest.raises(InvalidInput, match="does not exist"):
        reference_string(tiny.logrows, path=tmp_path / "missing.srs")


@pytest.mark.parametrize("logrows", [0, 30, 11.5, True])
def test_logrows_out_of_range(logrows):
    with pytest.raises(InvalidInput, match="logrows"):
        reference_string(logrows)


def test_felt_decoding():
    felt = backend.call("float_to_felt", 1.5, 8)
    assert backend.felt_to_float(felt, 8) == 1.5
