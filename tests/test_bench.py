import time

import numpy as np
import pytest

from labkit import bench
from labkit.errors import InvalidInput


def test_measure_counts_and_statistics():
    calls = []
    t = bench.measure(lambda: calls.append(1), repeat=5, warmup=2)
    assert len(calls) == 7 and t.repeat == 5
    assert t.q1 <= t.median <= t.q3 and t.iqr >= 0


def test_measure_time_is_right_order_of_magnitude():
    t = bench.measure(lambda: time.sleep(0.01), repeat=3, warmup=0)
    assert 0.009 < t.median < 0.05


def test_auto_repeat_is_bounded():
    t = bench.measure(lambda: None)
    assert 3 <= t.repeat <= 50


def test_peak_memory_sees_a_large_allocation():
    t = bench.measure(lambda: np.ones(40_000_000, dtype=np.uint8).sum(), repeat=1, warmup=0)
    if t.peak_rss is None:
        pytest.skip("peak RSS not resettable on this platform")
    assert t.peak_rss > 40_000_000


def test_overhead_ratio_of_known_workloads():
    ov = bench.overhead(lambda: time.sleep(0.02), lambda: time.sleep(0.005), repeat=5)
    assert 2.5 < ov.ratio < 5.0
    assert ov.ratio_low <= ov.ratio_high and len(ov.ratios) == 5
    assert ov.candidate.repeat == ov.baseline.repeat == 5


def test_overhead_interleaves_calls():
    order = []
    bench.overhead(lambda: order.append("A"), lambda: order.append("B"), repeat=3, warmup=1)
    assert "".join(order) == "AB" * 4  # one warm-up pair, then three timed pairs


def test_overhead_percent_and_format():
    ov = bench.Overhead(bench.Timing("c", (1.05,)), bench.Timing("b", (1.0,)), (1.05,))
    assert ov.percent == pytest.approx(5.0)
    assert bench.format_ratio(1.05) == "+5.0%" and bench.format_ratio(12.3) == "12.3x"
    assert "12.3x" in str(bench.Overhead(bench.Timing("c", (12.3,)), bench.Timing("b", (1.0,)), (12.3,)))


def test_timing_round_trip():
    t = bench.Timing("x", (0.1, 0.2, 0.3), 1234, {"n": 3})
    assert bench.Timing.from_dict(t.to_dict()) == t


@pytest.mark.parametrize("kwargs", [{"repeat": 0}, {"repeat": 1.5}, {"warmup": -1}])
def test_bad_counts_rejected(kwargs):
    with pytest.raises(InvalidInput):
        bench.measure(lambda: None, **kwargs)


def test_non_callable_rejected():
    with pytest.raises(InvalidInput, match="callable"):
        bench.measure(42)
    with pytest.raises(InvalidInput, match="baseline"):
        bench.overhead(lambda: None, "not a function")
    with pytest.raises(InvalidInput, match="at least one sample"):
        bench.Timing("empty", ())


def test_stopwatch():
    with bench.stopwatch("block") as sw:
        time.sleep(0.01)
    assert sw.timing.repeat == 1 and sw.timing.median >= 0.009
