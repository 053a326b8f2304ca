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
# # 01 · Homomorphic encryption basics: schemes, noise, depth, parameters and security
#
# **What you will do.** Encrypt vectors with two real libraries, Microsoft SEAL (through
# TenSEAL's bindings) and OpenFHE, compute on the ciphertexts, and decrypt. Watch the noise
# grow and the modulus chain shrink with every multiplication; pick parameters and see what
# the Homomorphic Encryption Standard says about their security; then break things on purpose.
#
# **What you will learn.** How CKKS (approximate, real numbers) differs from BFV and BGV
# (exact, integers mod t); what "depth" and "levels" mean; why the ring dimension N and the
# modulus size decide both security and cost; what the lab refuses and why.
#
# **What you need.** This environment. Everything runs locally on your CPU; nothing is downloaded.

# %% tags=["parameters"]
from labkit import config

config.banner()  # which mode this run is in (fast or full), and how to switch
N = 8192  # ring dimension used throughout (the fast and the full run agree: small enough for Binder)
N_VALUES = config.pick(4096, 512)  # values per round trip
REPEAT = config.pick(9, 3)  # timing repeats per operation

# %% [markdown]
# ## 1. The threat model
#
# A **client** owns data; a **server** computes on it. The server is *honest but curious*: it
# runs the computation it was asked to, but it studies everything it receives. With
# homomorphic encryption (HE) the client sends ciphertexts under its own public key; the
# server evaluates additions and multiplications on them and returns a ciphertext; only
# the client's secret key decrypts. The server never sees inputs or results.
#
# What HE does **not** give you: ciphertexts are *malleable* (anyone can compute on them, so
# a malicious server can return a wrong answer), and a server can always learn the *shape* of
# the computation and the sizes involved. Integrity needs something else (notebook 04's
# proofs, or an authentication tag in transit, which labkit adds when it serializes).

# %% [markdown]
# ## 2. Encrypt, compute, decrypt on both libraries
#
# `labkit.he.context(backend, scheme, ...)` makes a key pair and returns a context. The same
# calls work on SEAL and OpenFHE. A CKKS ciphertext at N = 8192 holds N/2 = 4096 real numbers
# ("slots"); BFV and BGV hold N integers.

# %%
import numpy as np
import pandas as pd

import labkit.he as he

rng = config.rng()  # the teaching seed, LABKIT_SEED
a, b = rng.uniform(-1, 1, 8), rng.uniform(-1, 1, 8)
rows = []
for backend in ("seal", "openfhe"):
    ctx = he.context(backend, "ckks", poly_modulus_degree=N)
    x, y = ctx.encrypt(a), ctx.encrypt(b)
    got = ctx.decrypt(x * y + x)
    rows.append(
        {
            "backend": backend,
            "slots": ctx.slots,
            "security": str(ctx.security),
            "max |error| of x*y + x": float(np.max(np.abs(got - (a * b + a)))),
        }
    )
pd.DataFrame(rows)

# %% [markdown]
# CKKS is *approximate*: every value carries a little noise (around 1e-8 here), which is fine
# for machine learning and is why CKKS is the scheme for encrypted inference. BFV and BGV are
# *exact*, but they compute modulo a plaintext modulus t: results wrap around.

# %%
for backend, scheme in (("seal", "bfv"), ("openfhe", "bfv"), ("openfhe", "bgv")):
    depth = 1 if scheme == "bgv" else 2
    ctx = he.context(backend, scheme, poly_modulus_degree=N, depth=depth)
    v = ctx.encrypt([40000 - 65537, -7, 12345])
    print(f"{backend:8s}{scheme}: decrypt(v)={ctx.decrypt(v).tolist()}  v + v = {ctx.decrypt(v + v).tolist()}")

# %% [markdown]
# 40000 is outside [-32768, 32768], so it is stored as 40000 - 65537 = -25537; doubling it
# gives -51074, which wraps to 14463. Exact, but modular: keep values small or pick a larger t.
#
# Rotations move slots around (a cyclic shift), which is how sums and matrix products are
# built; `dot` multiplies by a plaintext vector and sums all slots.

# %%
ctx = he.context("seal", "ckks", poly_modulus_degree=N)
x = ctx.encrypt([1.0, 2.0, 3.0, 4.0])
print("rotate by 1:", ctx.decrypt(x.rotate(1)).round(4))
print("dot with [1, 1, 1, 1]:", ctx.decrypt(x.dot([1, 1, 1, 1])).round(4))
print("ciphertext size:", x.size_bytes, "bytes for", len(x), "values;", ctx.slots, "slots")

# %% [markdown]
# ### Round trips and costs of the basic operations
#
# `labkit.he.lab.roundtrip` encrypts `N_VALUES` random values, decrypts them, and times
# encryption, decryption, addition and multiplication (with relinearization and rescaling).

# %%
from labkit.he import lab
from labkit.results import ResultStore

store = ResultStore()
trips = [
    lab.roundtrip(backend=bk, scheme=sc, poly_modulus_degree=N, n_values=N_VALUES, repeat=REPEAT)
    for bk, sc in (("seal", "ckks"), ("openfhe", "ckks"), ("seal", "bfv"), ("openfhe", "bfv"))
]
store.add_many(trips)
pd.DataFrame(
    [
        {
            "backend": r.params["backend"],
            "scheme": r.params["scheme"],
            "max error": f"{r.metrics['max_error']:.1e}",
            "ciphertext KiB": r.metrics["ciphertext_bytes"] / 1024,
            "expansion x": r.metrics["expansion"],
            **{f"{k} ms": 1e3 * t.median for k, t in r.timings.items()},
        }
        for r in trips
    ]
).round(4)

# %% [markdown]
# The expansion column is the price in bytes: a ciphertext is two polynomials of N
# coefficients in each RNS limb of the modulus, many times the 8 bytes per value it encrypts.

# %% [markdown]
# ## 3. Noise and depth
#
# Each multiplication grows the noise. In CKKS the product's scale is divided back down by
# *rescaling*, which drops one prime from the modulus chain: a context built with
# `depth=2` has two multiplications to spend, and the ciphertext shrinks as it goes. BFV
# keeps the modulus but burns **noise budget** (SEAL reports it in bits). When nothing is
# left, labkit refuses the next multiplication *before* running it.

# %%
growth = {sc: lab.noise_growth(backend="seal", scheme=sc, poly_modulus_degree=N) for sc in ("ckks", "bfv")}
store.add_many(growth.values())
display_rows = [{"scheme": sc, **row} for sc, r in growth.items() for row in r.artifacts["levels"]]
print(growth["ckks"].artifacts["refused"])
pd.DataFrame(display_rows)

# %%
import plotly.graph_objects as go

levels = growth["ckks"].artifacts["levels"]
fig = go.Figure(
    [
        go.Bar(
            x=[f"after {r['multiplications']} mult." for r in levels],
            y=[r["bytes"] / 1024 for r in levels],
            name="ciphertext KiB",
        )
    ]
)
fig.update_layout(title="CKKS: every rescale drops a prime, the ciphertext shrinks", yaxis_title="KiB", height=320)
fig

# %% [markdown]
# The depth planner tells you how many levels a computation needs before you build
# anything. A logistic regression with a cubic sigmoid needs 3; a two-layer network with a
# square activation needs 3; a degree-7 polynomial needs 3 on its own.

# %%
from labkit.errors import InvalidInput

print("logistic regression + cubic sigmoid:", he.plan_depth(layers=1, final_degree=3))
print("2-layer MLP with x^2 activation:    ", he.plan_depth(layers=2, activation_degree=2))
print("degree-7 polynomial:                ", he.polynomial_depth(7))
try:
    ctx.encrypt([0.5]).polyval([0, 1, 0, 1, 0, 1, 0, 1])  # ctx has depth 2
except InvalidInput as exc:
    print("refused up front:", exc)

# %% [markdown]
# ## 4. Parameters and security
#
# Security comes from the Ring-LWE problem: for a ring dimension N, a longer ciphertext
# modulus Q (more levels) makes the lattice problem *easier*. The Homomorphic Encryption
# Standard (Albrecht et al., 2018) tabulates the largest log2(QP), special primes included,
# that keeps 128, 192 or 256 bits of classical security with a ternary secret.

# %%
from labkit.he.security import HE_STANDARD_MAX_LOGQ

pd.DataFrame(HE_STANDARD_MAX_LOGQ).T.rename(columns=lambda c: f"{c}-bit").rename_axis("N")

# %% [markdown]
# labkit checks every context against this table before making keys. Asking for depth 2
# at N = 4096 needs 190 bits where 109 are allowed: refused, with the fix in the message.
# `allow_insecure=True` runs it anyway, and the result says so.

# %%
from labkit.errors import InsecureParameters

try:
    he.context("seal", "ckks", poly_modulus_degree=4096)
except InsecureParameters as exc:
    print("refused:", exc)
weak = lab.roundtrip(backend="seal", poly_modulus_degree=4096, allow_insecure=True, n_values=16, repeat=1)
weak

# %% [markdown]
# OpenFHE runs its own copy of the same check (with its exact special-prime sizes), and it
# can be stricter than the plan: its BGV at N = 8192 only fits depth 1 at 128 bits.

# %%
try:
    he.context("openfhe", "bgv", poly_modulus_degree=N, depth=2)
except InsecureParameters as exc:
    print(exc)

# %% [markdown]
# ## 5. What goes wrong, and what labkit does about it
#
# Every one of these is refused with a clear error, never a silent wrong number.

# %%
from labkit.errors import TamperDetected

ctx = he.context("seal", "ckks", poly_modulus_degree=N)
other = he.context("seal", "ckks", poly_modulus_degree=N)
x = ctx.encrypt([1.0, 2.0, 3.0])
attempts = {
    "NaN in the data": lambda: ctx.encrypt([1.0, float("nan")]),
    "more values than slots": lambda: ctx.encrypt(np.zeros(ctx.slots + 1)),
    "ciphertexts from two contexts": lambda: x + other.encrypt([1.0]),
    "too many multiplications": lambda: x * x * x * x,
}
blob = bytearray(ctx.serialize(x))
blob[len(blob) // 2] ^= 1
attempts["one flipped bit in a serialized ciphertext"] = lambda: ctx.deserialize(bytes(blob))
for what, attempt in attempts.items():
    try:
        attempt()
        print(f"{what}: accepted (unexpected)")
    except (InvalidInput, TamperDetected) as exc:
        print(f"{what}: {type(exc).__name__}: {str(exc)[:110]}")

# %% [markdown]
# And decrypting with the wrong secret key gives nothing back: SEAL returns noise,
# OpenFHE's CKKS decoder notices the error is far too large and refuses.

# %%
a = np.arange(1.0, 9.0)
print("right key:", ctx.decrypt(ctx.encrypt(a)).round(3))
print("wrong key:", ctx.impl.foreign_decrypt(ctx.encrypt(a).raw, other.impl)[:8].round(1))

# %% [markdown]
# ## 6. The parameter explorer
#
# Move N, the total modulus bits and the scale. The marker turns red below the 128-bit line;
# the summary shows the depth those bits buy, the precision left after one product, and the
# measured cost of a multiplication and a rotation on the chosen backend.

# %%
from labkit.widgets import he as he_widgets

he_widgets.parameter_explorer()

# %% [markdown]
# ## 7. What the numbers say
#
# - Round trips: CKKS errors near 1e-8 at a 40-bit scale on both libraries (the lab's bar is
#   1e-3), BFV/BGV exact. CKKS precision comes from the scale: at 20-bit scale the explorer
#   shows only a few bits left after one product.
# - Costs: an addition takes tens of microseconds, a multiplication with relinearization
#   milliseconds; the ciphertext is 6-12x larger than the 8-byte values it holds at full
#   packing, and far more when it holds a handful.
# - Depth is the budget that drives everything: every level adds a prime to the chain, which
#   the security table pays for with a larger N, which makes every operation slower.
# Notebook 02 puts these costs against plaintext inference and against the "10x-100x" claim.

# %% [markdown]
# ## 8. Exercises

# %%
from labkit.exercises import ask, check

ask("01.smallest_secure_n")
### BEGIN SOLUTION
answer = 16384
### END SOLUTION
check("01.smallest_secure_n", answer)

# %%
ask("01.chain_depth")
### BEGIN SOLUTION
answer = 3
### END SOLUTION
check("01.chain_depth", answer)

# %%
ask("01.exact_scheme")
### BEGIN SOLUTION
answer = "bfv"
### END SOLUTION
check("01.exact_scheme", answer)

# %%
ask("01.wraparound")
### BEGIN SOLUTION
answer = 90000 - 65537
### END SOLUTION
check("01.wraparound", answer)

# %%
ask("01.polynomial_depth")
### BEGIN SOLUTION
answer = 4
### END SOLUTION
check("01.polynomial_depth", answer)

# %% [markdown]
# ## 9. Summary and references
#
# - CKKS computes on real numbers approximately; BFV and BGV on integers mod t exactly.
# - A context's depth is its modulus chain; the HE Standard bounds the chain for each N.
# - labkit refuses insecure or too-deep parameters, bad values, mixed contexts and tampered
#   bytes before any work, and flags what you explicitly allow.
#
# References: M. Albrecht et al., *Homomorphic Encryption Standard*, HomomorphicEncryption.org,
# 2018. J. H. Cheon, A. Kim, M. Kim, Y. Song, "Homomorphic Encryption for Arithmetic of
# Approximate Numbers", ASIACRYPT 2017. J. Fan, F. Vercauteren, "Somewhat Practical Fully
# Homomorphic Encryption", ePrint 2012/144. Z. Brakerski, C. Gentry, V. Vaikuntanathan,
# "(Leveled) Fully Homomorphic Encryption without Bootstrapping", ITCS 2012. Microsoft SEAL
# 4.x; A. Benaissa et al., "TenSEAL", 2021; A. Al Badawi et al., "OpenFHE", WAHC 2022.
