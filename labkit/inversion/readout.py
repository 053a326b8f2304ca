"""What the inversion assessment reports: its metrics, and sentences built from them.

The numbers come from :mod:`labkit.inversion.exposure` (the attacks on the
workload) and :mod:`labkit.inversion.protect` (the defense search and its
price); :func:`findings` writes short factual sentences from a finished
Result's metrics, never from anything else.
"""

from __future__ import annotations

from ..results import Result
from . import protect

ATTACK_NAMES = {"idlg": "iDLG", "ig": "Inverting Gradients"}


def assess_metrics(target, scores, strong, chosen, accs, plain_acc, workload, batch: int) -> dict[str, float]:
    """The Result's numbers (see :func:`labkit.inversion.assess.assess`) from the attack scores and the chosen defense."""
    one, many = scores[f"{strong}_1"], scores[f"{strong}_batch"]
    strong_batch = max(("idlg", "ig"), key=lambda k: scores[f"{k}_batch"]["psnr"])
    many = scores[f"{strong_batch}_batch"]
    m = {
        "supported": 1,
        "batch_size": batch,
        "psnr_batch1": one["psnr"],
        "psnr_batch": many["psnr"],
        "label_recovery": one["label_recovery"],
        "label_recovery_batch": many["label_recovery"],
        "accuracy_given": workload.accuracy(),
        "accuracy_plain": plain_acc,
        "attack_capped": sum(s["capped"] for s in scores.values()),
    }
    for kind in ("idlg", "ig"):
        m[f"psnr_batch1_{kind}"] = scores[f"{kind}_1"]["psnr"]
        m[f"psnr_batch_{kind}"] = scores[f"{kind}_batch"]["psnr"]
    extra = ("ssim",) if target.image else ("feature_recovery", "mean_relative_error")
    for k in extra:
        m[k if k != "ssim" else "ssim_batch1"] = one[k]
        m[f"{k}_batch"] = many[k]
    if chosen is not None:
        worst = chosen.worst()
        m.update(
            psnr_defended=worst["psnr"],
            label_recovery_defended=worst["label_recovery"],
            defense_stops=float(chosen.stops),
            accuracy_private=accs[protect.key(chosen)],
            accuracy_cost=plain_acc - accs[protect.key(chosen)],
        )
        m[f"psnr_defended_{strong}"] = chosen.scores["psnr"]
        if chosen.other is not None:
            m[f"psnr_defended_{'ig' if strong == 'idlg' else 'idlg'}"] = chosen.other["psnr"]
        for k in extra:
            m[f"{k}_defended"] = worst[k]
    return m


def findings(result: Result) -> list[str]:
    """Short factual sentences built from the Result's numbers."""
    m, prm, art = result.metrics, result.params, result.artifacts
    strong = ATTACK_NAMES[prm["search_attack"]]
    band = prm["safe_band_db"]
    side = "above" if m["psnr_batch1"] >= band else "below"
    out = [f"The model was attacked {prm['training_stage']}."]
    if "ssim_batch1" in m:
        out.append(
            f"From the gradient of one image, {strong} rebuilt it at {m['psnr_batch1']:.1f} dB PSNR "
            f"(SSIM {m['ssim_batch1']:.2f}), {side} the lab's {band:g} dB safe band; the gradient gave away "
            f"{m['label_recovery']:.0%} of the labels."
        )
    else:
        out.append(
            f"From the gradient of one sample, {strong} recovered {m['feature_recovery']:.0%} of its features within "
            f"{prm['tolerance_sd']:g} training standard deviations (mean error {m['mean_relative_error']:.2f} SD; "
            f"{m['psnr_batch1']:.1f} dB over the data's range, {side} the {band:g} dB safe band); the gradient gave "
            f"away {m['label_recovery']:.0%} of the labels."
        )
    out.append(
        f"A batch of {m['batch_size']:.0f} samples: {m['psnr_batch']:.1f} dB"
        + (f", {m['feature_recovery_batch']:.0%} of features recovered" if "feature_recovery_batch" in m else "")
        + f", {m['label_recovery_batch']:.0%} of labels."
    )
    d = art.get("defense")
    if d is None:
        out.append("No defense could be run on this model: " + "; ".join(art["skipped_defenses"].values()))
        return out
    verb = "brings" if d["stops"] else "lowers, but does not bring,"
    by_attack = " and ".join(
        f"{ATTACK_NAMES[k]} {m[f'psnr_defended_{k}']:.1f} dB" for k in ("idlg", "ig") if f"psnr_defended_{k}" in m
    )
    out.append(
        f"{d['name']} ({d['knob']}={d['value']:g}) {verb} the attack from {m['psnr_batch1']:.1f} to "
        f"{m['psnr_defended']:.1f} dB ({by_attack}){' below the safe band' if d['stops'] else ''}, with labels recovered "
        f"{m['label_recovery_defended']:.0%}; after a {prm['finetune']['rounds']}-round federated fine-tuning the test "
        f"accuracy is {m['accuracy_private']:.3f} with it and {m['accuracy_plain']:.3f} without "
        f"({(m['accuracy_private'] - m['accuracy_plain']) * 100:+.1f} points)."
    )
    accs, band_acc = art["candidates"], art.get("accuracy_tie_band")
    best = max(accs, key=accs.get)
    chosen_key = f"{d['name']}={d['value']:g}"
    secs = art["candidate_update_s"]
    if (
        best != chosen_key
        and band_acc is not None
        and accs[best] - accs[chosen_key] <= band_acc
        and secs[best] > protect.SLOW * secs[chosen_key]
    ):
        out.append(
            f"{best} fine-tuned to {accs[best]:.3f}, within one standard error of the test accuracy "
            f"({band_acc * 100:.1f} points) of {d['name']}, but its client update takes "
            f"{secs[best] * 1e3:.3g} ms against {secs[chosen_key] * 1e3:.3g} ms."
        )
    if "overhead" in m:
        out.append(
            f"A client update with {d['name']} takes {m['overhead']:.3g}x the plain one "
            f"(IQR {m['overhead_low']:.3g}-{m['overhead_high']:.3g})."
        )
    other_name = ATTACK_NAMES["ig" if prm["search_attack"] == "idlg" else "idlg"]
    others = []
    for t in art["trials"]:
        k = f"{t['defense']}={t['value']:g}"
        if k == chosen_key or k not in art["candidates"] or t["psnr"] >= band:
            continue
        fails = "other_attack" in t and t["other_attack"]["psnr"] >= band
        note = f"; {other_name} still {t['other_attack']['psnr']:.1f} dB" if fails else ""
        others.append(f"{k} (accuracy {art['candidates'][k]:.3f}{note})")
    if others:
        out.append(f"Other settings that bring {strong} below the band: " + ", ".join(others) + ".")
    never = sorted({t["defense"] for t in art["trials"]} - {k.split("=")[0] for k in art["candidates"]})
    if never:
        out.append(f"Not below the band for {strong} at any setting swept: {', '.join(never)}.")
    for name, why in art["skipped_defenses"].items():
        out.append(f"{name} could not run on this model ({why}).")
    if m["psnr_batch1"] < band:
        out.append("The attack was already below the safe band without a defense here.")
    return out
