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
# # 00 · Start here: what PET Lab measures, and against whom
#
# **What you will do.** Check that every cryptographic backend works on this machine,
# meet the threat models the labs use, see every technique's measured cost against what
# it protects on one dashboard, and check the practitioner guide's claims against your
# machine's measurements.
#
# **What you will learn.** Privacy-enhancing technologies (PETs) are not
# interchangeable: each protects data in one *state* (at rest, in transit, in use)
# against one *kind* of adversary, at a price. The labs measure the price on your
# machine, against a plaintext baseline run in the same process, and show what the
# technique stops.
#
# **What you need.** Nothing beyond this environment (`make lab`). Everything runs
# offline. `LABKIT_FAST=1` shrinks every workload for a quick pass.

# %% tags=["parameters"]
from labkit import config

config.banner()  # which mode this run is in (fast or full), and how to switch
RUN_DOCTOR = config.pick(True, True)  # one real operation per backend; takes a few seconds
MEASURE_IF_EMPTY = config.pick(True, True)  # an empty ResultStore: run the TEE lab's benchmark (seconds) for the chart

# %% [markdown]
# ## 1. Is everything working here?
#
# `labkit doctor` runs one real operation per backend: a CKKS encrypt-multiply-decrypt
# in SEAL and in OpenFHE, a secret-shared sum between two CrypTen processes, an ezkl
# circuit check, a DP-SGD epoch, ML-KEM and ML-DSA round trips, a hybrid post-quantum
# TLS 1.3 handshake on 127.0.0.1, and the widget stack. Each runs in its own process,
# so a broken library shows up as a reason here rather than a crashed kernel. The same
# table is one command away in a terminal: `labkit doctor`.

# %%
from IPython.display import HTML, display

from labkit import doctor

outcomes = doctor.run(workers=1, progress=True) if RUN_DOCTOR else []  # one at a time: gentle on a 2 GB Binder
display(HTML(doctor.html_table(outcomes)))
working = sum(o.ok for o in outcomes)
print(f"{working} of {len(outcomes)} backends work here; lab ready: {doctor.healthy(outcomes)}")

# %% [markdown]
# ## 2. Threat models
#
# Every lab states who the adversary is and what they can see. These are the ones
# you will meet:

# %%
from labkit.claims import THREATS

display(HTML("<dl>" + "".join(f"<dt><b>{k}</b></dt><dd>{v}</dd>" for k, v in THREATS.items()) + "</dl>"))

# %% [markdown]
# A technique that protects data **in transit** (TLS, post-quantum TLS) does nothing
# once the server decrypts; one that protects data **in use** (homomorphic encryption,
# MPC, a TEE) keeps it hidden while it is processed; **differential privacy** limits
# what a *trained model* reveals about one record; a **zero-knowledge proof** does not
# hide data from the computer at all, it lets others check the computation.
#
# ## 3. The map of the lab
#
# | notebook | technique | what you measure | what it stops |
# |---|---|---|---|
# | 01 he_basics | CKKS, BGV/BFV in SEAL and OpenFHE | op costs, noise, depth, security level | a curious server reading inputs |
# | 02 he_inference | encrypted inference; OpenFHE vs SEAL | latency, throughput, accuracy | the same, for a whole model |
# | 03 gradient_inversion | DLG, iDLG, Inverting Gradients; defenses | PSNR/SSIM of stolen images vs accuracy | a server rebuilding training images |
# | 04 zk_proofs | ezkl proofs of inference | prove/verify time, proof size | a model owner swapping model or output |
# | 05 mpc | CrypTen parties as processes | rounds, bytes, latency | any one party seeing the others' data |
# | 06 dp_tradeoffs | DP-SGD with Opacus, audit | epsilon vs accuracy, attack AUC | membership inference on the model |
# | 07 tee_simulation | measurement, attestation, sealing | attestation and sealing costs | a host reading or swapping the workload |
# | 08 pqc_handshakes | hybrid ML-KEM TLS 1.3, ML-DSA | handshake latency, bytes on the wire | harvest now, decrypt later |
# | 09 layered_defense | all layers on one FL round | total cost of the stack | every attacker above at once |
#
# ## 4. The overhead-vs-privacy dashboard
#
# Every lab stores what it measures (a `Result`) in the lab's ResultStore. The dashboard
# puts each stored Result on one chart: across, its measured time ratio against a
# plaintext baseline timed in the same run (log scale, 1 = no overhead); down, what the
# technique buys: confidentiality in transit or in use, integrity of outputs, or attack
# success prevented. Circles are measured, diamonds are measured costs of a *simulation*
# (the TEE lab has no enclave hardware), open squares are *modelled* from published
# figures. Filter by data state or threat model, hover for the Result, click a point for
# the full Result and a link to the notebook that explores it.
#
# A fresh lab has measured nothing yet. The cell below then runs the quickest lab's
# standard benchmark (the TEE simulation, a few seconds) so the chart is not empty;
# `labkit bench --fast` in a terminal (or `make report`) fills in every lab in a few minutes,
# and the *Reload results* button brings them in.

# %%
from labkit import benchmarks
from labkit.results import ResultStore
from labkit.widgets import dashboard

store = ResultStore()
if MEASURE_IF_EMPTY and not dashboard.points(store):
    benchmarks.run(["tee"], store=store)
board = dashboard.dashboard(store)
board

# %% [markdown]
# The techniques above are not substitutes: they sit on different rows. How far apart
# the measured costs are, across the chart and within each row, depends on what this
# store holds; the cell below says it from the points on the chart (one Result is not a
# spread). Techniques with nothing measured yet are listed under the chart with the
# command that measures them.

# %%
from labkit import overview

print(overview.spread(dashboard.points(store)))
#
# ## 5. What the numbers say: the claims check
#
# `labkit report` (and `make report`) checks each claim of the practitioner guide
# against what this machine measured, beside the published anchors from
# `docs/claims.md`: homomorphic encryption "10x-100x", OpenFHE faster than SEAL,
# zk proving "5x-50x" with millisecond verification, TEEs "3-7%", post-quantum key
# exchange "under 5% vs RSA-2048". A verdict says *holds* when the whole interquartile
# range of the paired ratios agrees with the claim, *off by a factor N* when all of it
# is outside, *inconclusive* otherwise; for the few-percent claims N compares the
# *extra* time. A claim with no measurement in the store says which lab to run: no
# number is filled in.

# %%
from labkit import report

readings = report.readings(store)
display(HTML(report.table_html(readings, notebooks=".")))
measured = [r for r in readings if r.measured is not None]
print(f"{len(measured)} of {len(readings)} readings measured on this machine; `labkit report` writes the same as HTML")

# %% [markdown]
# Published anchors to keep in mind while reading it: the TenSEAL tutorial's encrypted
# MNIST network takes about 2 s per image (CKKS, N=8192); ezkl proves a 784-56-10 MLP in
# 2.66 s in the ZKML-Benchmark, so against microsecond plaintext inference proving costs
# three to six orders of magnitude, not 5-50x; confidential computing on H100 GPUs stays
# under 7% for most LLM queries, while SGX with an unmodified network and enclave paging
# has been measured up to 26x slower; ML-KEM + ML-DSA TLS adds under 5% time-to-last-byte
# on fast links and 32% to the handshake on slow ones (sources in `docs/claims.md`).
#
# The claimed ranges alone, for reference (what the dashboard replaces with measurements):

# %%
from labkit.widgets import start

for key, low, high in start.claimed_ranges():
    print(f"{key:4s} claimed time ratio {low:g} to {high:g}")

# %% [markdown]
# ## 6. Exercises
#
# Fill in each answer (replace the `...`) and run the cell: the check says whether it is
# right, or what to look at again.
#
# **6.1** Which technique lets a server compute on data it can never read?

# %%
from labkit import exercises

exercises.ask("00.protects_in_use")
### BEGIN SOLUTION
answer_in_use = "homomorphic encryption"
### END SOLUTION
exercises.check("00.protects_in_use", answer_in_use)

# %% [markdown]
# **6.2** Gradient inversion (lab 03) is an attack by which adversary from section 2?

# %%
exercises.ask("00.threat_for_inversion")
### BEGIN SOLUTION
answer_inversion = "honest-but-curious server"
### END SOLUTION
exercises.check("00.threat_for_inversion", answer_inversion)

# %% [markdown]
# **6.3** A TEE is claimed to cost 3-7%. As a time ratio against plaintext, what is
# the worst claimed case?

# %%
exercises.ask("00.claimed_tee_ratio")
### BEGIN SOLUTION
answer_tee_ratio = 1.07
### END SOLUTION
exercises.check("00.claimed_tee_ratio", answer_tee_ratio)

# %% [markdown]
# **6.4** The claims check measures a TEE setting at a time ratio of 1.5 against the
# claimed 3-7%. By what factor is the claimed worst-case *extra* time off?

# %%
exercises.ask("00.extra_time_factor")
### BEGIN SOLUTION
answer_extra_factor = (1.5 - 1) / (1.07 - 1)
### END SOLUTION
exercises.check("00.extra_time_factor", answer_extra_factor)

# %% [markdown]
# ## Summary
#
# - Each PET protects one data state against one adversary; choose by threat model
#   first, cost second.
# - The claimed costs span from a few percent (TEE, post-quantum key exchange) to
#   orders of magnitude (HE, zero-knowledge proving): the labs measure both sides.
# - `labkit doctor` tells you, with reasons, which backends run here; the dashboard and
#   `labkit report` show, from the ResultStore, what each technique cost on this machine
#   and whether the claims hold, with the lab that measured each figure.
#
# ## References
#
# - Homomorphic Encryption Standard (Albrecht et al., 2018), homomorphicencryption.org.
# - NIST FIPS 203 (ML-KEM), FIPS 204 (ML-DSA), FIPS 205 (SLH-DSA), 2024.
# - Zhu, Liu, Han, "Deep Leakage from Gradients", NeurIPS 2019.
# - Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
# - Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine Learning", NeurIPS 2021.
# - Costan & Devadas, "Intel SGX Explained", IACR ePrint 2016/086.
# - Chen & Revels, "Robust benchmarking in noisy environments", 2016 (arXiv:1608.04295).
# - Published anchors of the claims check: `docs/claims.md` (TenSEAL tutorial 4,
#   ZKML-Benchmark, H100 confidential computing, the 2024 ML-KEM + ML-DSA TLS study).
