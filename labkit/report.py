"""The claims check across labs: each claim, the figure measured here, the anchors, a verdict.

``labkit report`` reads the ResultStore that ``labkit bench`` (and the
notebooks) filled and, for each claim of the catalogue
(:mod:`labkit.claims`), lays out one row per reading: what was measured, the
figure with its interquartile range, the published anchors, a verdict and the
lab that measured it. A claim the store has no measurement for says so
("not measured yet: run labkit bench LAB"); no number is ever filled in.

Verdicts compare the interquartile range (IQR) of the paired ratios with the
claimed range: "holds" when the whole IQR agrees with the claim, "off by a
factor N" when the whole IQR is outside it, "inconclusive" when the IQR
straddles a bound. For claims of a few percent (TEE 3-7%, PQC under 5%) the
factor compares the *extra* time (a ratio of 1.5 is +50%, 7x the claimed
+7%); for the others it compares the ratios.

References
----------
Chen & Revels, "Robust benchmarking in noisy environments", 2016 (arXiv:1608.04295).
The claims and anchors: the project's ``shared/CLAIMS.md``.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .claims import FURTHER_ANCHORS, FURTHER_CLAIMS, Claim, technique
from .errors import InvalidInput
from .results import Result, ResultStore

HOLDS, INCONCLUSIVE = "holds", "inconclusive"
NOT_MEASURED = "not measured yet"
PERCENT_CLAIM = 2.0  # claims whose upper bound is below this ratio are read as extra time ("+7%")


@dataclass
class Reading:
    """One measured (or missing) figure for one claim."""

    claim: str  # key: "he.overhead", "he.openfhe_vs_seal", "zk.prover", "zk.verify", "tee.overhead", "pqc.overhead"
    claim_text: str
    setting: str
    measured: float | None
    low: float | None = None
    high: float | None = None
    unit: str = "x plaintext"
    kind: str = "measured"  # "measured", "simulated", "modelled"
    verdict: str = ""
    bench: str = ""  # the `labkit bench` lab that produces it
    lab: str = ""  # notebook stem
    result_id: str | None = None
    anchors: tuple[str, ...] = field(default_factory=tuple)
    note: str = ""
    fast: bool = False  # measured in fast mode (LABKIT_FAST=1): shrunken workload
    spread: str = "IQR"  # what (low, high) is: "IQR" of paired ratios, or another named range

    @property
    def figure(self) -> str:
        """The measured figure as text, or what to run to measure it."""
        if self.measured is None:
            return self.note or f"{NOT_MEASURED}: run labkit bench {self.bench}"
        text = fmt(self.measured) + ("" if self.unit == "x plaintext" else f" {self.unit}")
        if self.unit == "x plaintext":
            text += "x"
        if self.low is not None and self.high is not None:
            text += f" ({self.spread} {fmt(self.low)}-{fmt(self.high)})"
        return text


def fmt(x: float) -> str:
    """Three significant digits, thousands separated above 1000.

    >>> fmt(0.98765), fmt(12.345), fmt(45973.2)
    ('0.988', '12.3', '46,000')
    """
    if x == 0 or not math.isfinite(x):
        return str(x)
    if abs(x) >= 1000:
        digits = int(math.floor(math.log10(abs(x)))) - 1
        return f"{round(x, -digits):,.0f}"
    return f"{x:.3g}"


def factor_text(factor: float) -> str:
    return f"off by a factor {fmt(factor)}"


def verdict(claim: Claim, measured: float | None, low: float | None = None, high: float | None = None) -> str:
    """holds / off by a factor N (costlier or cheaper than claimed) / inconclusive / not measured yet.

    >>> c = Claim("10x-100x", 10.0, 100.0)
    >>> verdict(c, 30.0, 25.0, 40.0), verdict(c, 1000.0, 900.0, 1100.0), verdict(c, 95.0, 80.0, 120.0)
    ('holds', 'off by a factor 10 (costlier than claimed)', 'inconclusive (IQR 80-120 straddles 100)')
    >>> tee = Claim("3-7%", 1.03, 1.07)
    >>> verdict(tee, 1.5), verdict(tee, 1.01)
    ('off by a factor 7.14 (+50% against the claimed +7%)', 'holds')
    """
    if measured is None:
        return NOT_MEASURED
    lo = measured if low is None else min(low, measured)
    hi = measured if high is None else max(high, measured)
    percent = 1.0 < claim.high < PERCENT_CLAIM  # "3-7%", "under 5%": a bound on the extra time
    lower_bound = None if percent else claim.low  # "3-7%" and "under 5%" are upper bounds on the cost
    if hi <= claim.high and (lower_bound is None or lo >= lower_bound):
        return HOLDS
    if lo > claim.high:
        if percent:
            factor = (measured - 1.0) / (claim.high - 1.0)
            return f"{factor_text(factor)} (+{(measured - 1) * 100:.0f}% against the claimed +{(claim.high - 1) * 100:.0f}%)"
        return f"{factor_text(measured / claim.high)} (costlier than claimed)"
    if lower_bound is not None and hi < lower_bound:
        if lower_bound <= 0:
            return HOLDS
        return f"{factor_text(lower_bound / measured)} (cheaper than claimed)"
    bound = claim.high if hi > claim.high else lower_bound
    return f"{INCONCLUSIVE} (IQR {fmt(lo)}-{fmt(hi)} straddles {fmt(bound)})"


def iqr(r: Result, key: str) -> tuple[float | None, float | None]:
    return r.metrics.get(f"{key}_low"), r.metrics.get(f"{key}_high")


def latest_by(results: Iterable[Result], key: Callable[[Result], object]) -> list[Result]:
    """Newest Result per key (``results`` come newest first from the store)."""
    seen: dict[object, Result] = {}
    for r in results:
        seen.setdefault(key(r), r)
    return list(seen.values())


def missing(claim_key: str, claim: Claim, bench: str, lab: str, anchors, setting: str = "") -> Reading:
    r = Reading(claim_key, claim.text, setting or "-", None, kind="-", bench=bench, lab=lab, anchors=tuple(anchors))
    r.verdict = f"{NOT_MEASURED}: run labkit bench {bench}"
    return r


def reading(
    claim_key: str,
    claim: Claim,
    result: Result,
    setting: str,
    measured: float,
    *,
    low=None,
    high=None,
    unit="x plaintext",
    kind="measured",
    bench="",
    lab="",
    anchors=(),
    note="",
) -> Reading:
    out = Reading(
        claim_key,
        claim.text,
        setting,
        float(measured),
        low,
        high,
        unit,
        kind,
        bench=bench,
        lab=lab,
        result_id=result.id,
        anchors=tuple(anchors),
        note=note,
    )
    out.verdict = verdict(claim, out.measured, low, high)
    out.fast = bool(result.environment.get("fast"))
    return out


# -- one function per claim --------------------------------------------------------------------------------------


def he_overhead(store: ResultStore) -> list[Reading]:
    """Encrypted inference (and CKKS secure aggregation, notebook 03) against plaintext, same run."""
    t = technique("he")
    found = [r for r in store.query("he") if r.name.endswith("_inference") and "overhead" in r.metrics]
    found = latest_by(found, lambda r: (r.name, r.params.get("backend"), r.params.get("mode")))
    out = []
    for r in sorted(found, key=lambda r: (r.name, r.params.get("mode", ""), r.params.get("backend", ""))):
        p = r.params
        setting = (
            f"{p.get('backend')}: {r.name.replace('_inference', '')} on {r.artifacts.get('dataset', 'digits')}, "
            f"{p.get('mode')} ({p.get('batch_size')} per ciphertext)"
        )
        out.append(
            reading(
                "he.overhead",
                t.claim,
                r,
                setting,
                r.metrics["overhead"],
                low=r.metrics.get("overhead_low"),
                high=r.metrics.get("overhead_high"),
                bench="he",
                lab=t.lab,
                anchors=t.anchors,
            )
        )
    agg = [
        r
        for r in store.query("inversion", "scenario")
        if str(r.params.get("secure_aggregator") or "").startswith("ckks") and "aggregation_overhead" in r.metrics
    ]
    for r in latest_by(agg, lambda r: r.params.get("secure_aggregator"))[:2]:
        low, high = iqr(r, "aggregation_overhead")
        out.append(
            reading(
                "he.overhead",
                t.claim,
                r,
                f"CKKS secure aggregation of {r.params.get('n_clients')} "
                f"clients' gradients ({r.params['secure_aggregator']}) vs a plain sum",
                r.metrics["aggregation_overhead"],
                low=low,
                high=high,
                bench="he",
                lab="03_gradient_inversion",
                anchors=t.anchors,
            )
        )
    return out or [missing("he.overhead", t.claim, "he", t.lab, t.anchors)]


def he_openfhe_vs_seal(store: ResultStore) -> list[Reading]:
    """The op-level race at matched parameters: geometric mean of OpenFHE/SEAL time ratios per scheme and N."""
    from .he.bench import verdict as race_verdict

    claim, anchors, lab = FURTHER_CLAIMS["he.openfhe_vs_seal"], FURTHER_ANCHORS["he.openfhe_vs_seal"], "02_he_inference"
    races = latest_by(
        store.query("he", "backend_race"),
        lambda r: (r.params.get("scheme"), r.params.get("poly_modulus_degree"), r.params.get("op")),
    )
    groups: dict[tuple, list[Result]] = {}
    for r in races:
        groups.setdefault((r.params.get("scheme"), r.params.get("poly_modulus_degree")), []).append(r)
    out = []
    for (scheme, n), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] != "ckks", kv[0][0], kv[0][1])):
        paired = [r for r in rs if "openfhe_over_seal" in r.metrics]
        if not paired:
            if scheme == "bgv":
                reading = Reading(
                    "he.openfhe_vs_seal",
                    claim.text,
                    f"BGV, N={n}: OpenFHE timed alone",
                    None,
                    unit="OpenFHE/SEAL",
                    kind="-",
                    bench="he",
                    lab=lab,
                    anchors=anchors,
                    note="no SEAL side: TenSEAL does not expose SEAL's BGV",
                )
                reading.verdict = f"{INCONCLUSIVE}: SEAL's BGV is not reachable from Python here"
                out.append(reading)
            continue
        logs = [math.log(r.metrics["openfhe_over_seal"]) for r in paired]
        geo = math.exp(sum(logs) / len(logs))
        lo = math.exp(sum(math.log(r.metrics["openfhe_over_seal_low"]) for r in paired) / len(paired))
        hi = math.exp(sum(math.log(r.metrics["openfhe_over_seal_high"]) for r in paired) / len(paired))
        faster = [r.params["op"] for r in paired if r.artifacts.get("verdict") == "OpenFHE faster"]
        slower = [r.params["op"] for r in paired if r.artifacts.get("verdict") == "SEAL faster"]
        setting = f"{scheme.upper()}, N={n}, {len(paired)} ops, single thread, matched parameters"
        note = f"OpenFHE faster: {', '.join(faster) or 'none'}; SEAL faster: {', '.join(slower) or 'none'}"
        reading = reading(
            "he.openfhe_vs_seal",
            claim,
            paired[0],
            setting,
            geo,
            low=lo,
            high=hi,
            unit="OpenFHE/SEAL",
            bench="he",
            lab=lab,
            anchors=anchors,
            note=note,
        )
        reading.result_id = None  # a summary of several Results
        reading.spread = "geo-mean IQR"
        overall = race_verdict(geo, lo, hi)  # the HE lab's own rule: a 10% tie band
        counts = f"OpenFHE faster in {len(faster)} of {len(paired)} ops, SEAL in {len(slower)}"
        if overall == "OpenFHE faster":
            reading.verdict = HOLDS if len(faster) == len(paired) else f"{HOLDS} on the geometric mean ({counts})"
        elif overall == "SEAL faster":
            reading.verdict = f"{factor_text(geo)}: SEAL faster ({counts})"
        else:
            reading.verdict = f"{INCONCLUSIVE}: {overall} ({counts})"
        out.append(reading)
    if not any(r.params.get("scheme") == "bgv" for r in races):
        bgv = missing("he.openfhe_vs_seal", claim, "he", lab, anchors, "BGV")
        bgv.note = "TenSEAL does not expose SEAL's BGV: only OpenFHE's side can be timed"
        out.append(bgv)
    if not groups:
        out.insert(0, missing("he.openfhe_vs_seal", claim, "he", lab, anchors, "CKKS and BFV op race"))
    return out


def zk_costs(store: ResultStore) -> list[Reading]:
    """Prover time against plaintext inference, and verification time, from ``zk/costs`` Results."""
    from .zk.costs import claims_check

    t = technique("zk")
    v_claim, v_anchors = FURTHER_CLAIMS["zk.verify"], FURTHER_ANCHORS["zk.verify"]
    found = latest_by(store.query("zk", "costs"), lambda r: (r.params.get("model"), r.params.get("width")))[:3]
    if not found:
        return [
            missing("zk.prover", t.claim, "zk", t.lab, t.anchors),
            missing("zk.verify", v_claim, "zk", t.lab, v_anchors),
        ]
    out = []
    for r in found:
        check = claims_check(r)
        what = f"{r.params.get('model', 'model')} (width {r.params.get('width', '?')}, logrows {r.metrics.get('logrows', 0):.0f})"
        low, high = iqr(r, "overhead")
        kind_note = f"against warm plaintext inference: {fmt(check['measured_ratio_warm_plaintext'])}x"
        out.append(
            reading(
                "zk.prover",
                t.claim,
                r,
                f"ezkl prove, {what}",
                check["measured_ratio"],
                low=low,
                high=high,
                bench="zk",
                lab=t.lab,
                anchors=t.anchors,
                note=kind_note,
            )
        )
        out.append(
            reading(
                "zk.verify",
                v_claim,
                r,
                f"ezkl verify, {what}",
                check["verify_ms"],
                unit="ms",
                bench="zk",
                lab=t.lab,
                anchors=v_anchors,
            )
        )
    return out


def tee_overhead(store: ResultStore) -> list[Reading]:
    """Modelled hardware settings and the measured simulation boundary, each labelled."""
    from .tee.costs import CostModel, claims_check

    t = technique("tee")
    modelled = store.latest("tee", "modelled_hardware_overhead")
    boundary = latest_by(
        store.query("tee", "boundary_overhead"), lambda r: (r.params.get("batch_size"), r.params.get("hidden"))
    )
    boundary.sort(key=lambda r: (r.params.get("hidden", 0), r.params.get("batch_size", 0)))
    if modelled is None and not boundary:
        return [missing("tee.overhead", t.claim, "tee", t.lab, t.anchors)]
    model = (
        CostModel(**{k: modelled.params[k] for k in ("mem_encryption", "epc_mb", "paging_max")}) if modelled else None
    )
    check = claims_check(boundary=boundary, model=model)
    out = []
    by_setting = {
        f"simulation boundary, batch {r.params['batch_size']}, width {r.params['hidden']}": r for r in boundary
    }
    for row in check.artifacts["rows"]:
        if row["kind"] == "modelled":
            if modelled is None:
                continue
            src, low, high = modelled, None, None
            kind, note = "modelled", "modelled, not measured: calibrated from published figures"
        else:
            src = by_setting[row["setting"]]
            low, high = iqr(src, "overhead")
            kind = "simulated"
            note = "measured here: the simulation's encrypted process boundary, not TEE hardware"
        out.append(
            reading(
                "tee.overhead",
                t.claim,
                src,
                row["setting"],
                row["ratio"],
                low=low,
                high=high,
                kind=kind,
                bench="tee",
                lab=t.lab,
                anchors=t.anchors,
                note=note,
            )
        )
    if modelled is None:
        out.append(missing("tee.overhead", t.claim, "tee", t.lab, t.anchors, "modelled hardware settings"))
    if not boundary:
        out.append(missing("tee.overhead", t.claim, "tee", t.lab, t.anchors, "simulation boundary (measured)"))
    return out


def _cell_ratio(t, cand: Result, base: Result, setting: str) -> Reading:
    """Two sweep cells, each timed interleaved against the same X25519 + ECDSA baseline: divide their ratios.

    The interval combines the cells' IQRs conservatively (candidate low / baseline high ... high / low).
    """
    c, b = cand.metrics, base.metrics
    ratio = c["overhead"] / b["overhead"]
    low = c["overhead_low"] / b["overhead_high"] if "overhead_low" in c and "overhead_high" in b else None
    high = c["overhead_high"] / b["overhead_low"] if "overhead_high" in c and "overhead_low" in b else None
    out = reading(
        "pqc.overhead",
        t.claim,
        cand,
        setting + " (loopback; two sweep cells, same baseline)",
        ratio,
        low=low,
        high=high,
        bench="pqc",
        lab=t.lab,
        anchors=t.anchors,
        note="interval: the two cells' IQRs combined",
    )
    out.spread = "range"
    out.verdict = out.verdict.replace("(IQR ", "(range ")
    return out


def pqc_overhead(store: ResultStore) -> list[Reading]:
    """Hybrid ML-KEM TLS against classical key exchange with RSA-2048 certificates."""
    t = technique("pqc")
    check = store.latest("pqc", "claims_check")
    out = []
    if check is not None:
        m = check.metrics
        for key, setting in (
            ("handshake_overhead", "TLS 1.3 connection, X25519MLKEM768 vs X25519, RSA-2048 cert"),
            ("transfer_overhead", "connection + transfer, X25519MLKEM768 vs X25519, RSA-2048 cert"),
            ("pq_handshake_overhead", "TLS 1.3 connection, X25519MLKEM768 + ML-DSA-65 vs X25519 + RSA-2048"),
            ("kem_vs_rsa", "primitive: ML-KEM-768 encaps+decaps vs RSA-2048 OAEP key transport"),
        ):
            if key in m:
                low, high = iqr(check, key)
                out.append(
                    reading(
                        "pqc.overhead",
                        t.claim,
                        check,
                        setting + " (loopback)",
                        m[key],
                        low=low,
                        high=high,
                        bench="pqc",
                        lab=t.lab,
                        anchors=t.anchors,
                    )
                )
    cells = latest_by(
        [r for r in store.query("pqc", "sweep_cell")], lambda r: (r.params.get("group"), r.params.get("cert"))
    )
    cell = {(r.params.get("group"), r.params.get("cert")): r for r in cells}
    if not out:
        hybrid, classical = cell.get(("X25519MLKEM768", "rsa-2048")), cell.get(("X25519", "rsa-2048"))
        if hybrid is not None and classical is not None:
            out.append(_cell_ratio(t, hybrid, classical, "TLS 1.3 connection, X25519MLKEM768 vs X25519, RSA-2048 cert"))
        full = cell.get(("X25519MLKEM768", "ml-dsa-65"))
        if full is not None and classical is not None:
            out.append(
                _cell_ratio(t, full, classical, "TLS 1.3 connection, X25519MLKEM768 + ML-DSA-65 vs X25519 + RSA-2048")
            )
    return out or [missing("pqc.overhead", t.claim, "pqc", t.lab, t.anchors)]


COMPARISON = "comparison only"


def comparison(
    claim_key: str,
    text: str,
    r: Result,
    setting: str,
    measured: float,
    published: float,
    *,
    bench: str,
    lab: str,
    anchors,
) -> Reading:
    low, high = iqr(r, "overhead")
    out = Reading(
        claim_key,
        text,
        setting,
        float(measured),
        low,
        high,
        bench=bench,
        lab=lab,
        result_id=r.id,
        anchors=tuple(anchors),
        fast=bool(r.environment.get("fast")),
    )
    out.verdict = f"{COMPARISON}: {fmt(measured / published)} times the published {fmt(published)}x"
    return out


def mpc_anchor(store: ResultStore) -> list[Reading]:
    """No guide claim for MPC: CrypTen's published 2-party figures beside ours (``labkit.mpc.benchmark``)."""
    from .mpc.benchmark import PUBLISHED

    t = technique("mpc")
    out = []
    for name, (label, plain_ms, mpc_ms) in PUBLISHED.items():
        found = [r for r in store.query("mpc", f"{name}_inference") if r.params.get("parties") == 2]
        text = (
            f"published anchor (no guide claim): CrypTen 2-party {label} inference {plain_ms} -> {mpc_ms} ms "
            f"(~{mpc_ms / plain_ms:.0f}x)"
        )
        if not found or "overhead" not in found[0].metrics:
            out.append(missing("mpc.anchor", Claim(text, 0, 0), "mpc", t.lab, t.anchors, f"{name}, 2 parties"))
            continue
        r = found[0]
        out.append(
            comparison(
                "mpc.anchor",
                text,
                r,
                f"{name}, 2 parties, batch {r.params.get('n')}",
                r.metrics["overhead"],
                mpc_ms / plain_ms,
                bench="mpc",
                lab=t.lab,
                anchors=t.anchors,
            )
        )
    return out


def dp_anchor(store: ResultStore) -> list[Reading]:
    """No guide claim for DP: the DP/non-DP epoch time ratio beside Opacus's published ~1.6x (``labkit.dp.benchmark``)."""
    t = technique("dp")
    text = "published anchor (no guide claim): Opacus MNIST on CPU, a DP epoch ~1.6x a non-DP one"
    r = store.latest("dp", "benchmark")
    if r is None or "overhead" not in r.metrics:
        return [missing("dp.anchor", Claim(text, 0, 0), "dp", t.lab, t.anchors, "DP-SGD epsilon sweep on digits")]
    eps = r.params.get("epsilons") or []
    setting = f"DP-SGD on digits, median over {len(eps)} epsilon targets"
    out = comparison(
        "dp.anchor", text, r, setting, r.metrics["overhead"], 1.6, bench="dp", lab=t.lab, anchors=t.anchors
    )
    out.spread = "min-max"
    return [out]


CHECKS: tuple[Callable[[ResultStore], list[Reading]], ...] = (
    he_overhead,
    he_openfhe_vs_seal,
    zk_costs,
    tee_overhead,
    pqc_overhead,
    mpc_anchor,
    dp_anchor,
)


def readings(store: ResultStore | None = None) -> list[Reading]:
    """Every claim's readings from ``store`` (default: the lab's store)."""
    store = store if store is not None else ResultStore()
    out: list[Reading] = []
    for check in CHECKS:
        out += check(store)
    return out


def table(rows: list[Reading], *, width: int = 56) -> str:
    """The claims check as plain text (one line per reading)."""

    def cut(s: str, n: int) -> str:
        return s if len(s) <= n else s[: n - 1] + "…"

    head = ("claim", "setting", "kind", "measured", "verdict", "lab")
    body = [(r.claim, cut(r.setting, width), r.kind, cut(r.figure, 44), cut(r.verdict, 56), r.lab) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines.insert(1, "-" * len(lines[0]))
    claims = dict.fromkeys((r.claim, r.claim_text) for r in rows)
    lines += ["", "claims (practitioner guide, 2025) and anchors (shared/CLAIMS.md; all anchors in the HTML report):"]
    lines += [f"  {key}: {text}" for key, text in claims]
    return "\n".join(lines)


# -- the HTML report ----------------------------------------------------------------------------------------------


def claims_figure(rows: list[Reading]):
    """Measured time ratios (log scale, IQR bars) beside each claim's claimed range."""
    import plotly.graph_objects as go

    plotted = [
        r
        for r in rows
        if r.measured is not None and r.unit in ("x plaintext", "OpenFHE/SEAL") and not r.claim.endswith(".anchor")
    ]
    labels = [f"{r.claim}: {r.setting[:70]}" for r in plotted]
    claims = {**{k: FURTHER_CLAIMS[k] for k in FURTHER_CLAIMS}}
    for key in ("he", "zk", "tee", "pqc"):
        claims[f"{key}.overhead" if key != "zk" else "zk.prover"] = technique(key).claim
    ranges = [claims[r.claim] for r in plotted]
    kinds = [r.kind for r in plotted]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=labels,
            base=[max(c.low, 0.25) for c in ranges],
            x=[c.high - max(c.low, 0.25) for c in ranges],
            orientation="h",
            name="claimed range",
            marker_color="rgba(120,160,220,0.35)",
            hovertext=[c.text for c in ranges],
            hoverinfo="text",
        )
    )
    for kind, symbol in (("measured", "circle"), ("simulated", "diamond"), ("modelled", "square-open")):
        sel = [i for i, k in enumerate(kinds) if k == kind]
        if not sel:
            continue
        fig.add_trace(
            go.Scatter(
                y=[labels[i] for i in sel],
                x=[plotted[i].measured for i in sel],
                mode="markers",
                name=kind,
                marker=dict(symbol=symbol, size=10, color="#d95f02" if kind == "measured" else "#555"),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[max(0.0, (plotted[i].high or plotted[i].measured) - plotted[i].measured) for i in sel],
                    arrayminus=[max(0.0, plotted[i].measured - (plotted[i].low or plotted[i].measured)) for i in sel],
                ),
                hovertext=[f"{plotted[i].figure}<br>{plotted[i].verdict}" for i in sel],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title="Measured on this machine (points, IQR bars) against the claimed range (bars)",
        xaxis=dict(type="log", title="time ratio (log scale)"),
        yaxis=dict(autorange="reversed", automargin=True),
        height=max(320, 28 * len(plotted) + 140),
        margin=dict(l=20, r=20, t=50, b=50),
        barmode="overlay",
    )
    return fig


def _machines(results: list[Result]) -> list[str]:
    seen = {}
    for r in results:
        env = r.environment or {}
        seen.setdefault(
            env.get("machine_id"),
            f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores, "
            f"Python {env.get('python', '?')}, labkit {env.get('labkit', '?')}",
        )
    return list(seen.values())


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2}
td.v-holds{background:#e6f4ea}
td.v-off{background:#fde8e8}
td.v-inconclusive,td.v-missing{background:#fff6db}
td.v-anchor{background:#eef2fb}
.small{font-size:12px;color:#555}
ul{margin:0;padding-left:16px}
"""


def _verdict_class(v: str) -> str:
    if v == HOLDS:
        return "v-holds"
    if v.startswith("off by"):
        return "v-off"
    if v.startswith(COMPARISON):
        return "v-anchor"
    return "v-missing" if v.startswith(NOT_MEASURED) else "v-inconclusive"


def _verdict_style(v: str) -> str:
    return {"v-holds": "#e6f4ea", "v-off": "#fde8e8", "v-anchor": "#eef2fb"}.get(_verdict_class(v), "#fff6db")


def table_html(rows: list[Reading], *, notebooks: str | None = None) -> str:
    """The claims table as HTML (``<table id="claims">``), styled inline so it also reads well in a notebook.

    ``notebooks``: the notebooks folder relative to where the HTML is shown, to link each lab (no links when None).
    """
    esc = html.escape
    cell = "border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left"
    small = "font-size:12px;color:#555"
    body = []
    for r in rows:
        lab = esc(r.lab)
        if notebooks is not None and r.lab:
            lab = f"<a href='{esc(notebooks)}/{esc(r.lab)}.py'>{lab}</a>"
        rid = f"<div style='{small}'>Result {esc(r.result_id[:12])}</div>" if r.result_id else ""
        anchors = "".join(f"<li>{esc(a)}</li>" for a in r.anchors)
        note = f"<div style='{small}'>{esc(r.note)}</div>" if r.note and r.measured is not None else ""
        fast = f"<div style='{small}'>fast mode</div>" if r.fast else ""
        body.append(
            f"<tr data-claim='{esc(r.claim)}'><td style='{cell}'>{esc(r.claim_text)}</td>"
            f"<td style='{cell}'>{esc(r.setting)}{note}</td><td style='{cell}'>{esc(r.kind)}{fast}</td>"
            f"<td class='measured' style='{cell}'>{esc(r.figure)}</td>"
            f"<td style='{cell}'><ul style='margin:0;padding-left:16px'>{anchors}</ul></td>"
            f"<td class='{_verdict_class(r.verdict)}' style='{cell};background:{_verdict_style(r.verdict)}'>"
            f"{esc(r.verdict)}</td><td style='{cell}'>{lab}<br><code>labkit bench {esc(r.bench)}</code>{rid}</td></tr>"
        )
    head = "".join(
        f"<th style='{cell};background:#f2f2f2'>{h}</th>"
        for h in ("claim", "setting", "kind", "measured here", "published anchors", "verdict", "lab")
    )
    return (
        f'<table id="claims" style="border-collapse:collapse;font-size:13px;width:100%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def to_html(
    rows: list[Reading], *, store: ResultStore | None = None, overview=None, notebooks: str | None = None
) -> str:
    """One self-contained HTML page: plotly.js inlined, the claims table, the claims plot and the overview.

    ``notebooks``: the notebooks folder relative to the page, to link each lab (no links when None).
    """
    from plotly.offline import get_plotlyjs

    esc = html.escape
    results = store.query() if store is not None else []
    machines = "; ".join(esc(m) for m in _machines(results)) or "no Results"
    fast = any((r.environment or {}).get("fast") for r in results)
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    figs = [("claims-plot", claims_figure(rows))] + ([("overview-plot", overview)] if overview is not None else [])
    plots = "".join(
        f"<h2>{'Claims against measurements' if i == 'claims-plot' else 'Every technique: cost against protection'}"
        f"</h2><div id='{i}-box'>{f.to_html(full_html=False, include_plotlyjs=False, div_id=i)}</div>"
        for i, f in figs
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>PET Lab claims check</title>
<style>{_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<h1>PET Lab: the claims check</h1>
<p class="small">Generated {when} from {esc(str(store.path) if store is not None else "given readings")}
({len(results)} Results). Measured on: {machines}.{" Some Results come from fast mode (shrunken workloads)." if fast else ""}
Verdicts compare the interquartile range of paired ratios with the claimed range: <b>holds</b> when all of it agrees,
<b>off by a factor N</b> when all of it is outside (for claims of a few percent, N compares the extra time),
<b>inconclusive</b> when it straddles a bound. Simulated rows measure the lab's simulation, modelled rows are
calibrated from published figures: neither is TEE hardware.</p>
<h2>Claims, measured figures and published anchors</h2>
{table_html(rows, notebooks=notebooks)}
{plots}
</body></html>
"""


def write(out: str | Path = "report.html", *, store: ResultStore | None = None) -> tuple[Path, list[Reading]]:
    """Gather the readings from ``store``, write the HTML report to ``out``; returns (path, readings)."""
    from .widgets import dashboard

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InvalidInput(f"the report is an HTML file: give --out a name ending in .html, not {out.name!r}.")
    store = store if store is not None else ResultStore()
    rows = readings(store)
    overview = dashboard.figure(dashboard.points(store))
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = config.repo_root() / "notebooks"
    notebooks = Path(os.path.relpath(folder, out.resolve().parent)).as_posix() if folder.is_dir() else None
    out.write_text(to_html(rows, store=store, overview=overview, notebooks=notebooks), encoding="utf-8")
    return out, rows
