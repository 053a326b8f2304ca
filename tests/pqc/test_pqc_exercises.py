"""Notebook 08's exercise checks: a right and a wrong answer each."""

from __future__ import annotations

from labkit.exercises import check


def test_extra_bytes_up():
    assert check("08.extra_bytes_up", 1184)
    assert not check("08.extra_bytes_up", 1216)


def test_downgrade_reason():
    assert check("08.downgrade_reason", "no_common_group")
    fb = check("08.downgrade_reason", "X25519")
    assert not fb and "silent downgrade" in fb.message


def test_hndl_readable():
    assert check("08.hndl_readable", "x25519")
    assert not check("08.hndl_readable", "X25519MLKEM768")


def test_hello_segments():
    assert check("08.hello_segments", 1, hello_bytes=1422)
    assert check("08.hello_segments", 2, hello_bytes=1871)
    assert not check("08.hello_segments", 1, hello_bytes=1871)
    assert not check("08.hello_segments", 1)  # missing context -> a message, not an exception


def test_slow_link_ratio():
    assert check("08.slow_link_ratio", 1.331, measured=1.3317)
    assert not check("08.slow_link_ratio", 33.1, measured=1.3317)
    assert not check("08.slow_link_ratio", ..., measured=1.3)
