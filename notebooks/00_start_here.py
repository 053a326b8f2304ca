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
# meet the threat models the labs use, and browse the techniques with what each one
# protects and what it is *claimed* to cost.
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

RUN_DOCTOR = config.pick(True, True)  # one real operation per backend; takes a few seconds

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

outcomes = doctor.run(workers=1) if RUN_DOCTOR else []  # one at a time: gentle on a 2 GB Binder
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
# ## 4. Pick a technique
#
# The widget shows what each technique protects, against whom, what the practitioner
# guide claims it costs (as a time ratio against plaintext, log scale), and the
# published figures the labs compare with. The claimed ranges differ by four orders of
# magnitude: that alone says these are not substitutes for one another.

# %%
from labkit.widgets import start

explorer = start.explorer("he")
explorer

# %% [markdown]
# The bars are *claims*. Each lab replaces them with what your machine measured; the
# overhead-vs-privacy dashboard gathers those measurements here once you have run the
# labs.

# %%
for key, low, high in start.claimed_ranges():
    print(f"{key:4s} claimed time ratio {low:g} to {high:g}")

# %% [markdown]
# ## 5. Exercises
#
# Fill in each answer and run the cell: the check says whether it is right, or what to
# look at again.
#
# **5.1** Which technique lets a server compute on data it can never read?

# %%
from labkit import exercises

answer_in_use = "homomorphic encryption"  # your answer
exercises.check("00.protects_in_use", answer_in_use)

# %% [markdown]
# **5.2** Gradient inversion (lab 03) is an attack by which adversary from section 2?

# %%
answer_inversion = "honest-but-curious server"  # your answer
exercises.check("00.threat_for_inversion", answer_inversion)

# %% [markdown]
# **5.3** A TEE is claimed to cost 3-7%. As a time ratio against plaintext, what is
# the worst claimed case?

# %%
answer_tee_ratio = 1.07  # your answer
exercises.check("00.claimed_tee_ratio", answer_tee_ratio)

# %% [markdown]
# ## Summary
#
# - Each PET protects one data state against one adversary; choose by threat model
#   first, cost second.
# - The claimed costs span from a few percent (TEE, post-quantum key exchange) to
#   orders of magnitude (HE, zero-knowledge proving): the labs measure both sides.
# - `labkit doctor` tells you, with reasons, which backends run here.
#
# ## References
#
# - Homomorphic Encryption Standard (Albrecht et al., 2018), homomorphicencryption.org.
# - NIST FIPS 203 (ML-KEM), FIPS 204 (ML-DSA), FIPS 205 (SLH-DSA), 2024.
# - Zhu, Liu, Han, "Deep Leakage from Gradients", NeurIPS 2019.
# - Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
# - Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine Learning", NeurIPS 2021.
# - Costan & Devadas, "Intel SGX Explained", IACR ePrint 2016/086.
