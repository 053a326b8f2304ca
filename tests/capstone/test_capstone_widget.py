"""The capstone widget: the table and the frontier follow the toggles; a missing stack runs for real."""

from __future__ import annotations

import pytest

from labkit.capstone import LAYERS
from labkit.errors import InvalidInput

FULL = "+".join(LAYERS)


def test_frontier_data_sorted_by_overhead(stack_results):
    from labkit.widgets.capstone import frontier_data

    d = frontier_data(list(stack_results.values()))
    assert d["overhead"] == sorted(d["overhead"])
    i = d["stack"].index("plain")
    assert d["psnr"][i] == stack_results["plain"].metrics["psnr"] and d["poison_caught"][i] is False


def test_frontier_data_refuses_other_results():
    from labkit.results import Result
    from labkit.widgets.capstone import frontier_data

    with pytest.raises(InvalidInput, match="at least one"):
        frontier_data([])
    with pytest.raises(InvalidInput, match="capstone"):
        frontier_data([Result(technique="dp", name="train_private", params={}, metrics={})])


def test_toggles_move_the_selection_and_fill_the_table(stack_results):
    from labkit.widgets.capstone import explorer

    results = [stack_results[k] for k in ("plain", "dp", "zk", FULL)]
    w = explorer(results)
    fig = w.figure
    assert len(fig.data[0].x) == 4
    assert list(fig.data[1].y) == [stack_results["plain"].metrics["psnr"]]  # nothing toggled: the plain round
    assert "admitted" in w.table.value
    w.toggles["zk"].value = True
    assert list(fig.data[1].y) == [stack_results["zk"].metrics["psnr"]]
    assert "rejected unseen" in w.table.value
    w.select(LAYERS)
    assert list(fig.data[1].x) == [stack_results[FULL].metrics["overhead"]]
    assert "NOT FOR PRODUCTION" in w.table.value
    w.select(["tls"])  # not in the widget's results: nothing selected until it is run
    assert len(fig.data[1].x) == 0 and "not been measured" in w.table.value and not w.button.disabled
    w.button.click()  # runs the stack for real
    assert len(fig.data[0].x) == 5 and "tls" in list(fig.data[0].text)
    assert len(fig.data[1].x) == 1 and "X25519MLKEM768" in w.table.value


def test_the_tee_toggle_brings_secure_aggregation_with_it(stack_results):
    from labkit.widgets.capstone import explorer

    w = explorer([stack_results[k] for k in ("plain", "secagg", "secagg+tee")])
    w.toggles["tee"].value = True
    assert w.toggles["secagg"].value  # the enclave holds the key of secure aggregation
    assert list(w.figure.data[1].x) == [stack_results["secagg+tee"].metrics["overhead"]]
    assert "key-holder enclave" in w.table.value
    w.toggles["secagg"].value = False
    assert not w.toggles["tee"].value and list(w.figure.data[1].y) == [stack_results["plain"].metrics["psnr"]]


def test_a_failing_run_is_reported_in_the_widget(stack_results):
    from labkit.widgets.capstone import explorer

    def refuse(layers):
        raise InvalidInput("every client was rejected")

    w = explorer([stack_results["plain"]], run=refuse)
    w.select(["dp"])
    w.button.click()
    assert len(w.figure.data[0].x) == 1 and "every client was rejected" in w.children[0].children[-1].value
