# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Encrypted inference, and OpenFHE against SEAL head to head
#
# **What you will do.** Classify tumours (breast_cancer) and handwritten digits (digits)
# with models that never see the data in the clear: the inputs are CKKS ciphertexts, the
# server evaluates the model on them, and only you can read the predictions. You will pack
# one sample per ciphertext and then thousands, measure accuracy, latency, throughput,
# ciphertext sizes and the overhead against the same model in plaintext, on both SEAL and
# OpenFHE; then race the two libraries operation by operation.
#
# **What you will learn.** How to turn a model into something HE can evaluate (polynomials
# only), why batching changes the economics by three orders of magnitude, and how to check
# two popular claims ("HE costs 10x-100x", "OpenFHE is faster than SEAL") on your machine.
#
# **What you need.** Notebook 01 (schemes, depth, parameters). Everything runs on your CPU.

# %% tags=["parameters"]
from labkit import config

config.banner()  # which mode this run is in (fast or full), and how to switch
N_SINGLE = config.pick(50, 5)  # test samples classified one per ciphertext (latency)
REPEAT = config.pick(5, 1)  # timed repeats of each encrypted pipeline (overhead)
# op-level race; N = 32768 is left to `labkit bench he` in a terminal: its keys and SEAL's memory pool
# take about 1.6 GB more (measured on the lab's 2-core Linux machine), beyond Binder's 2 GB with this kernel
RACE_RING_DIMENSIONS = config.pick((8192, 16384), (8192,))
RACE_REPEAT = config.pick(21, 5)  # interleaved repeats per op in the race

# %% [markdown]
# ## 1. The threat model
#
# The **client** holds the data and the secret key. The **server** holds the model weights
# (in plaintext) and computes; it is honest but curious. The client encrypts its samples,
# the server evaluates the model homomorphically and returns encrypted outputs, the client
# decrypts. The server learns nothing about the inputs or the predictions. It is not
# protected against a server that computes the wrong thing (HE is malleable), and the client
# learns the model's outputs, which is all a prediction API reveals anyway.

# %% [markdown]
# ## 2. Models that HE can evaluate
#
# HE adds and multiplies; it has no exp, max or comparison. So:
#
# - the **logistic regression** keeps its linear score but replaces the sigmoid by a cubic
#   0.5 + c1·s + c3·s³ fitted by least squares over the range of the training scores;
# - the **MLP** (64 → 32 → 10) is *trained* with x² as its activation (as in CryptoNets), so
#   nothing is approximated at inference time.
#
# Each costs multiplicative depth: 3 levels for both (notebook 01's planner), which fits the
# preset `ckks-8192-d3`: N = 8192, chain [40, 30, 30, 30 | 60] = 190 bits, 128-bit secure.

# %%
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from labkit.he import inference, models

lr, mlp = models.logistic_regression(), models.square_mlp()
s = np.linspace(-lr.score_range, lr.score_range, 400)
fig = go.Figure(
    [
        go.Scatter(x=s, y=1 / (1 + np.exp(-s)), name="sigmoid"),
        go.Scatter(x=s, y=np.polynomial.polynomial.polyval(s, lr.sigmoid_poly), name="cubic fit"),
    ]
)
fig.update_layout(title="The sigmoid and its cubic replacement over the training scores", height=320)
fig.show()
pd.DataFrame(
    [
        {
            "model": "logreg (breast_cancer)",
            "plaintext accuracy": lr.info["accuracy_sigmoid"],
            "with the polynomial": lr.info["accuracy_polynomial"],
        },
        {
            "model": "square MLP (digits)",
            "plaintext accuracy": mlp.info["accuracy"],
            "with the polynomial": mlp.info["accuracy"],
        },
    ]
)

# %% [markdown]
# The cubic costs a fraction of a point on breast_cancer (it flattens where the sigmoid
# saturates); the square MLP pays nothing at inference, its price was paid in training.

# %% [markdown]
# ## 3. Batched inference: one slot per sample
#
# SIMD packing, as in CryptoNets: ciphertext j holds feature j of up to 4096 samples, so a
# layer is a set of weighted sums of ciphertexts and needs no rotation at all. The whole
# test split is classified in one batch; the remaining slots are filled by repeating the
# samples, so throughput is measured with the ciphertexts full. The overhead is the
# encrypted pipeline (encrypt, evaluate, decrypt) against the plaintext model on the same
# batch, timed interleaved in the same run. "Server-only" leaves out the client's
# encryption and decryption: it is what the server spends per sample.

# %% [markdown]
# **Predict first** (checked in section 9 against this run): how much slower will the
# encrypted pipeline be than the plaintext model?

# %%
from labkit.exercises import ask

ask("02.batched_overhead")
### BEGIN SOLUTION
prediction_overhead = 1000
### END SOLUTION

# %%
from labkit.results import ResultStore

store = ResultStore()
batched = [
    inference.run(model=m, backend=b, mode="batched", repeat=REPEAT, progress=True)
    for m in ("logreg", "mlp")
    for b in ("seal", "openfhe")
]
store.add_many(batched)


def summarise(results):
    return pd.DataFrame(
        [
            {
                "model": r.params["model"],
                "backend": r.params["backend"],
                "mode": r.params["mode"],
                "samples": r.metrics["samples"],
                "acc. plaintext": r.metrics["accuracy_plain"],
                "acc. encrypted": r.metrics["accuracy_encrypted"],
                "gap (points)": r.metrics["accuracy_gap_points"],
                "latency s": r.metrics["latency_s"],
                "ms / sample": 1e3 * r.metrics["per_sample_s"],
                "samples / s": r.metrics["throughput_per_s"],
                "server-only samples / s": r.metrics["server_throughput_per_s"],
                "input MiB": r.metrics["input_ciphertext_bytes"] / 2**20,
                "overhead x": r.metrics["overhead"],
            }
            for r in results
        ]
    ).round(4)


summarise(batched)

# %% [markdown]
# ## 4. One sample per ciphertext
#
# For a single request the batch trick does not help. The sample is replicated across the
# slots, and each layer is a matrix-vector product by the diagonal method with baby-step
# giant-step rotations (Halevi-Shoup): a square 64 x 64 layer costs 7 + 7 = 14 rotations
# instead of 64, and a narrowing one (64 -> 32) needs only 32 diagonals, 7 + 3 rotations,
# plus one rotate-and-add to fold the two halves.

# %%
single = [
    inference.run(model="mlp", backend=b, mode="single", n_samples=N_SINGLE, repeat=REPEAT, progress=True)
    for b in ("seal", "openfhe")
]
store.add_many(single)
summarise(single)

# %% [markdown]
# ## 5. The inference explorer
#
# Pick the model, backend, packing and batch, then press *Run encrypted*.

# %%
from labkit.widgets import he as he_widgets

explorer = he_widgets.inference_explorer(model="logreg")
explorer.redraw()
explorer

# %% [markdown]
# ## 6. OpenFHE against SEAL, operation by operation
#
# A fair race needs matched parameters: the same ring dimension, the same modulus chain
# (CKKS: [50, 40 × depth | 60], the deepest chain that stays 128-bit; BFV: OpenFHE's chain
# rebuilt prime for prime in SEAL), the same security level, the same key-switching layout
# (SEAL's single special prime is OpenFHE's HYBRID with one RNS limb per digit; OpenFHE's
# BFV at N = 8192 only fits 128 bits with BV key switching, which the table notes) and one
# thread each. OpenFHE fixes its OpenMP thread count when it is first imported, so labkit
# imports it single-threaded (set `LABKIT_OPENFHE_THREADS` before starting the kernel to
# change that; not measured in this run: on the authors' two-core Linux server, busy with
# other work, two threads once made a multiplication 25x slower). Every op is called
# directly on the library (no labkit code on the timed path),
# OpenFHE and SEAL interleaved, so machine noise hits both. BGV runs on OpenFHE alone: TenSEAL
# does not expose SEAL's BGV.

# %%
from labkit.he import benchmark

race = benchmark.benchmark(
    store=store, suites=("wrapper", "ops"), ring_dimensions=RACE_RING_DIMENSIONS, repeat=RACE_REPEAT, progress=True
)
table = pd.DataFrame(benchmark.table(race))
table["ratio IQR"] = table.pop("ratio_iqr").map(lambda r: f"{r[0]:.2f}-{r[1]:.2f}" if r[0] else "")
table.round(3)

# %%
ckks = table[table.scheme == "ckks"]
fig = go.Figure()
for n, part in ckks.groupby("N"):
    fig.add_bar(x=part.op, y=part.ratio_openfhe_over_seal, name=f"N={n}")
fig.add_hline(y=1, line_dash="dash")
fig.update_layout(title="CKKS: OpenFHE time / SEAL time (below 1: OpenFHE faster)", yaxis_type="log", height=340)
fig

# %% [markdown]
# How much does labkit's one API cost on top of the libraries? The `wrapper` suite times
# `x * y` through labkit (checks, level alignment, relinearize, rescale) against the same
# three calls made directly; for SEAL it also times TenSEAL's own vector layer (`CKKSVector`)
# against them, for reference. The target for labkit is at most 5%; on a busy machine the
# spread of the paired ratios is wider than the overhead itself.

# %%
wrap = [r for r in race if r.name == "wrapper_overhead"]
pd.DataFrame(
    [
        {
            "backend": r.params["backend"],
            "labkit overhead %": r.metrics["overhead_percent"],
            "IQR of paired ratios": f"{r.metrics['overhead_low']:.3f}-{r.metrics['overhead_high']:.3f}",
            "TenSEAL CKKSVector overhead %": r.metrics.get("tenseal_vector_overhead_percent"),
        }
        for r in wrap
    ]
).round(2)

# %% [markdown]
# ## 7. The backend race widget
#
# Pick a scheme, an operation and a ring dimension and press *Race*.

# %%
racer = he_widgets.backend_race(repeat=RACE_REPEAT)
racer.redraw()
racer

# %% [markdown]
# ## 8. What the numbers say
#
# **Claim 1: "HE costs 10x-100x over plaintext" (practitioner guide, 2025).** The overhead
# column above is encrypted pipeline time over plaintext model time on the same input, in
# the same run. The cell below puts the measured figures next to the claim.

# %%
from labkit import report
from labkit.he.technique import TECHNIQUE, claim_position

claim = TECHNIQUE.claim  # the claimed band, declared once in labkit.he.technique
rows = []
for r in batched + single:
    ov = r.metrics["overhead"]
    rows.append(
        {
            "model": r.params["model"],
            "backend": r.params["backend"],
            "mode": r.params["mode"],
            "measured overhead x": round(ov),
            "vs claim": claim_position(ov),
            "verdict (IQR)": report.verdict(claim, ov, *report.iqr(r, "overhead")),
        }
    )
claims = pd.DataFrame(rows)
claims

# %%
for where in ("below", "inside", "above"):
    part = claims[claims["vs claim"] == where]
    cases = ", ".join(f"{r.model}/{r.backend}/{r.mode} ({r['measured overhead x']}x)" for _, r in part.iterrows())
    print(f"{where} the claimed {claim.text}: {cases or 'none'}")

# %% [markdown]
# How to read it. The baseline is the same model in numpy, held to the same number of
# threads as the HE backend. A logistic regression in plaintext is one dot product per
# sample (microseconds for the whole batch), so its encrypted version is thousands of times
# slower even when 4096 samples share each ciphertext. The MLP's plaintext baseline does
# real work (a 4096 x 64 by 64 x 32 product), so its batched ratio is the lowest here, and
# the closest to the claimed band; one sample per ciphertext is orders of magnitude above
# it. So the claim describes the best case, well-packed batch work on a model with
# substance, not HE in general.
#
# Compare with the published anchors (`docs/claims.md`): TenSEAL's encrypted MNIST conv
# net takes 2 s per image (i7-3612QM) and LoLa about 2.2 s per single-image prediction;
# CryptoNets amortised 3.4 ms per image over 8192-image batches and nGraph-HE2 reached
# 1,998 images/s. The per-sample latencies and batched throughputs in sections 3 and 4 are
# for a much smaller network, measured on the machine you are using.
#
# **Claim 2: "OpenFHE is faster than SEAL for BGV and CKKS".** The verdicts per op:

# %%
verdicts = table.pivot_table(index=["scheme", "op"], columns="N", values="verdict", aggfunc="first")
verdicts

# %%
from labkit.he.technique import OPENFHE_FASTER, TIE_BAND

print(f"tie band: OpenFHE/SEAL within {1 - TIE_BAND:g}-{1 + TIE_BAND:g}, or an IQR straddling 1")
ck = table[(table.scheme == "ckks") & table.ratio_openfhe_over_seal.notna()]
for _, r in ck.iterrows():
    print(f"CKKS N={r.N} {r.op:15s} OpenFHE/SEAL = {r.ratio_openfhe_over_seal:6.2f} -> {r.verdict}")
faster = (ck.verdict == OPENFHE_FASTER).sum()
print(f"OpenFHE faster on {faster} of {len(ck)} CKKS op/size pairs; BGV: no SEAL counterpart through TenSEAL.")

# %% [markdown]
# Read the verdicts as they come out on your machine: "tie" means the ratio of medians is
# within the tie band printed above or its interquartile range straddles 1. The OpenFHE maintainers report timings
# close to SEAL's at N = 8192 except decryption (OpenFHE floods noise) and multiplication
# (relinearization); where our race agrees, and where it does not, is the
# answer to the claim: not a blanket "faster", but op by op. For BGV the comparison cannot
# be made through TenSEAL at all. At the workload level the batched rows of section 3 compare
# the two libraries on identical operation sequences.

# %% [markdown]
# ## 9. Exercises

# %%
from labkit.exercises import ask, check

ask("02.slots")
### BEGIN SOLUTION
answer = 8192
### END SOLUTION
check("02.slots", answer)

# %%
ask("02.bsgs_rotations")
### BEGIN SOLUTION
answer = 15 + 15
### END SOLUTION
check("02.bsgs_rotations", answer)

# %%
# your prediction from section 3, against the SEAL logistic regression's batched run
logreg_seal = next(r for r in batched if r.params["model"] == "logreg" and r.params["backend"] == "seal")
check("02.batched_overhead", prediction_overhead, result=logreg_seal)

# %%
ask("02.race_verdict")
### BEGIN SOLUTION
answer = "openfhe"
### END SOLUTION
check("02.race_verdict", answer)

# %% [markdown]
# ## 10. Summary and references
#
# - Encrypted inference matched plaintext accuracy within a point on both data sets, on
#   both libraries, with CKKS at 128-bit security.
# - Packing decides the cost: one slot per sample turns a fraction of a second per sample
#   into a fraction of a millisecond; well-packed batches of real work come closest to the
#   claimed 10x-100x, which describes that best case rather than HE in general.
# - The SEAL vs OpenFHE answer is per operation, at matched parameters, with its spread.
#
# References: R. Gilad-Bachrach et al., "CryptoNets", ICML 2016. F. Boemer et al.,
# "nGraph-HE2", WAHC 2019. A. Brutzkus, O. Elisha, R. Gilad-Bachrach, "LoLa", ICML 2019.
# S. Halevi, V. Shoup, "Algorithms in HElib", CRYPTO 2014. A. Kim et al., "Logistic regression
# model training based on the approximate homomorphic encryption", BMC Med. Genomics 2018.
# A. Benaissa et al., "TenSEAL", 2021 (tutorial 4: encrypted MNIST). A. Al Badawi et al.,
# "OpenFHE", WAHC 2022. M. Albrecht et al., Homomorphic Encryption Standard, 2018.
