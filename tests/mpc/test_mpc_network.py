"""The network model: latency = compute + rounds x RTT + bytes / bandwidth."""

import pytest

from labkit.errors import InvalidInput
from labkit.mpc import network


def test_estimate_adds_the_three_terms():
    e = network.estimate(compute_s=0.1, rounds=20, bytes_=1_000_000, link=network.custom(10, 80))
    assert e.latency_s == pytest.approx(0.2)
    assert e.transfer_s == pytest.approx(0.1)
    assert e.total_s == pytest.approx(0.4)


def test_wan_is_slower_than_lan():
    args = {"compute_s": 0.05, "rounds": 50, "bytes_": 5e6}
    assert network.estimate(link=network.WAN, **args).total_s > network.estimate(link=network.LAN, **args).total_s


@pytest.mark.parametrize("kwargs", [{"rounds": -1}, {"bytes_": float("nan")}, {"compute_s": "1"}])
def test_bad_numbers_are_refused(kwargs):
    args = {"compute_s": 0.1, "rounds": 1, "bytes_": 1.0, "link": network.LAN, **kwargs}
    with pytest.raises(InvalidInput):
        network.estimate(**args)


def test_bad_links_are_refused():
    with pytest.raises(InvalidInput):
        network.Link("x", rtt_s=-1, bandwidth_bps=1)
    with pytest.raises(InvalidInput):
        network.estimate(compute_s=0, rounds=0, bytes_=0, link="LAN")
