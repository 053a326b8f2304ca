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
# # 10 · Your model: what each technique costs and buys on your own workload
#
# **What you will do.** Take a model and its data (a built-in example, two files, or an
# upload), ask every technique whether it can run it (seconds, no cryptography), run the
# assessment that measures each one on this workload against its plaintext baseline, read
# the cost-against-protection chart, and write one self-contained HTML report.
#
# **What you will learn.** Which of the lab's techniques apply to a model you bring, what
# stops one from running it and what to change, what each costs here (time, bytes,
# accuracy) and what it stops (a reconstruction, a membership test, a tampered proof, a
# recorded handshake), and how to read a report whose every number says whether it was
# measured, simulated or modelled.
#
# **What you need.** Notebooks 00 to 09 explain each technique; this one reuses them on
# one workload. A model of your own must be an ONNX file (`torch.onnx.export`) with its
# data as `.npz` (arrays `X`, `y`, optionally `X_test`, `y_test`) or `.csv` (one sample per
# row, the label in a column). In fast mode the assessment covers a subset of the
# techniques on the built-in 8x8 digits CNN in a couple of minutes.

# %% tags=["parameters"]
from labkit import config

config.banner()  # which mode this run is in (fast or full), and how to switch
EXAMPLE = "digits_cnn"  # the built-in workload assessed here; load your own in section 5
TECHNIQUES = config.pick(None, ("pqc", "dp", "tee", "he", "inversion"))  # None: every technique with assess doors
BUDGET_MINUTES = config.pick(20.0, 5.0)  # a technique whose own estimate does not fit the time left is skipped
REPORT = config.home() / "reports" / f"{EXAMPLE}.html"  # where section 6 writes the report

# %% [markdown]
# ## 1. The threat models
#
# Each technique protects data in one *state* against one *kind* of adversary, so "is my
# model safe?" has as many answers as there are rows below. The table comes from the
# lab's registry, the same place the report's reading by threat model takes it from.

# %%
import pandas as pd

from labkit import techniques

pd.DataFrame(
    [
        {"key": t.key, "technique": t.title, "data state": t.data_state, "adversary": t.adversary, "lab": t.lab}
        for t in techniques.registry()
        if t.assessable
    ]
)

# %% [markdown]
# Read it with your deployment in mind. A hospital sending scans to a cloud model fears the
# cloud operator (data in use: HE, MPC, a TEE); a hospital *publishing* a model fears
# whoever queries it (the model's output: differential privacy); a federated client fears
# the server that receives its gradients (gradient inversion); anyone on the network path
# with a recorder and patience fears a future quantum computer (data in transit: PQC); a
# client paying for inference fears a server that skips the work (ZK proofs).

# %% [markdown]
# ## 2. One workload, three ways in
#
# A `Workload` is a model (one ONNX graph) and its data. The three ways in end in the same
# intake and the same checks: a built-in example; two files on disk; or the same two files
# uploaded through a browser (Binder has no terminal). The digest is a hash of the model
# and the data: the three routes below give the same workload, so they give the same digest.

# %%
import tempfile
from pathlib import Path

from labkit.widgets import assess as assess_widget
from labkit.workload import Workload, examples

workload = examples.workload(EXAMPLE)
folder = Path(tempfile.mkdtemp(prefix="labkit-nb10-"))
model_path, data_path = examples.save(EXAMPLE, folder)  # what you would export from your own training code
from_files = Workload.load(model_path, data_path)
uploaded = assess_widget.load_uploads([(p.name, p.read_bytes()) for p in (model_path, data_path)])
for route, w in (("example", workload), ("files", from_files), ("upload", uploaded)):
    print(f"{route:<8} {w.source:<40} digest {w.digest[:16]}")
print("same workload all three ways:", workload.digest == from_files.digest == uploaded.digest)
workload.summary()["layers"]

# %% [markdown]
# Files are untrusted input. The ONNX file is parsed as data (no code in it runs); PyTorch
# and pickle files are refused because loading them can run code; sizes are checked before
# anything is read whole. An upload that is not what it claims gets a sentence, not a
# traceback:

# %%
for files in (
    [("model.pt", b"\x80\x04 a pickle"), ("data.npz", b"PK")],
    [("model.onnx", b"not an onnx file at all"), (data_path.name, data_path.read_bytes())],
    [(model_path.name, model_path.read_bytes()), ("data.xlsx", b"PK")],
):
    try:
        assess_widget.load_uploads(files)
    except Exception as exc:  # InvalidInput: what is wrong and what to change
        print(f"{type(exc).__name__}: {exc}")

# %% [markdown]
# ## 3. Can each technique run it?
#
# The support check asks each technique, in seconds and without making a key, whether it can
# run this model: a "no" names the node, its op, why, and what to change; a "yes" carries the
# technique's own estimate of its time and memory, which the time budget uses to skip what
# would not fit.

# %%
from IPython.display import HTML, display

from labkit import assessment

table = assessment.check(workload)
display(HTML(assess_widget.support_html(table, fast=config.fast())))
print(f"{sum(s.supported for s in table.values())} of {len(table)} techniques can run {workload.name}")

# %% [markdown]
# ## 4. The assessment
#
# `labkit.assess` runs each chosen technique's assess door, cheapest first by its own
# estimate, within the time budget, and stores one Result per technique in the ResultStore
# (tagged with the workload's name and digest, so the dashboard of notebook 00 can filter by
# workload). Every technique measures its plaintext baseline in the same run. The same call
# from a terminal is `labkit assess --model M --data D --out report.html`.

# %%
import labkit
from labkit.results import ResultStore

store = ResultStore()
mine = labkit.assess(workload, techniques=TECHNIQUES, store=store, progress=True, budget_minutes=BUDGET_MINUTES)
mine

# %%
for r in mine.results:
    print(f"{r.technique:<10} ran in {r.metrics.get('assess_s', 0.0):6.1f} s")
for key, why in mine.skipped.items():
    print(f"{key:<10} {why}")

# %% [markdown]
# ## 5. Your own model: the widget
#
# Choose where the workload comes from (a built-in example, two file paths, or an upload of
# an `.onnx` and an `.npz`/`.csv`; for a CSV name the label column, or leave it blank for the
# last one), press **Load**, then **Check** (seconds) and **Assess** (minutes: pick fewer
# techniques or set a budget). The chart puts this workload's techniques (stars) beside the
# lab's own reference points from the other notebooks; **Write report** writes the page.
# It opens with the assessment of section 4 already drawn.

# %%
panel = assess_widget.assess_panel(
    workload=workload,
    assessment=mine,
    techniques=TECHNIQUES,
    budget_minutes=BUDGET_MINUTES,
    store=store,
    report_path=f"report_{EXAMPLE}.html",
)
panel

# %% [markdown]
# ## 6. What the numbers say
#
# The report's reading is written from the numbers, one sentence per technique, grouped by
# the data state it protects. Below it, each technique's headline measurements, printed from
# its Result with the label the report gives them.

# %%
from labkit import assessment_report

for state, lines in assessment_report.reading(mine).items():
    print(f"Data {state}:")
    for line in lines:
        print("  -", line)

# %%
rows = []
for r in mine.results:
    if not r.metrics.get("supported"):
        continue
    m = r.metrics
    rows.append(
        {
            "technique": r.technique,
            "overhead (x)": m.get("overhead"),
            "kind": assessment_report.kind_of(r, "overhead"),
            "accuracy plain": m.get("accuracy_plain"),
            "accuracy private": m.get("accuracy_private"),
            "first finding": (r.artifacts.get("findings") or [""])[0],
        }
    )
pd.DataFrame(rows).round(4)

# %% [markdown]
# One report holds all of it: the workload, the support table, every technique's cost,
# accuracy and protection with its label and the call that reproduces it, the chart, and the
# reading. It is one HTML file with plotly inlined, so it opens offline and can be mailed to
# whoever decides.

# %%
path = assessment_report.write(
    mine, REPORT, store=store, command=f"labkit assess --model {model_path.name} --data {data_path.name}"
)
print(f"report: {path} ({path.stat().st_size / 2**20:.1f} MB)")

# %% [markdown]
# ## 7. Exercises: read your own report
#
# Each answer is a reading of *your* run, checked against the assessment itself: open the
# report (or the tables above) and read it off.

# %%
from labkit.exercises import ask, check

ask("10.cheapest_in_use")
### BEGIN SOLUTION
costs = {r.technique: r.metrics.get("overhead") for r in mine.results}
in_use = {k: v for k, v in costs.items() if v and techniques.get(k).data_state == "in use"}
cheapest_in_use = min(in_use, key=in_use.get)
### END SOLUTION
check("10.cheapest_in_use", cheapest_in_use, assessment=mine)

# %%
ask("10.dp_accuracy_cost")
### BEGIN SOLUTION
dp_points = 100 * (mine.result("dp").metrics["accuracy_plain"] - mine.result("dp").metrics["accuracy_private"])
### END SOLUTION
check("10.dp_accuracy_cost", dp_points, assessment=mine)

# %%
ask("10.inversion_band")
inversion = mine.result("inversion")
### BEGIN SOLUTION
band = inversion.params["safe_band_db"]
above = (inversion.metrics["psnr_batch1"] > band, inversion.metrics["psnr_batch"] > band)
crossed = {(True, True): "both", (True, False): "batch 1", (False, True): "realistic batch"}.get(above, "neither")
### END SOLUTION
check("10.inversion_band", crossed, assessment=mine)

# %%
ask("10.tee_overhead_kind")
### BEGIN SOLUTION
tee_kind = assessment_report.kind_of(mine.result("tee"), "overhead")
### END SOLUTION
check("10.tee_overhead_kind", tee_kind, assessment=mine)

# %% [markdown]
# ## 8. Summary and references
#
# - One workload (an ONNX model and its data) goes to every technique; uploads, files and the
#   lab's own examples pass the same intake and checks, and the digest ties every Result to it.
# - The support check answers in seconds, names what stops a technique and what to change, and
#   gives the estimates that a time budget uses to skip, never cut off, what would not fit.
# - The assessment measures each technique on this workload against a plaintext baseline in the
#   same run; its report labels every number measured, simulated or modelled, reads them by
#   threat model, and says how to reproduce each one.
# - Which technique to use depends on the data state and the adversary first, and on the
#   measured cost second: the cheapest protection of the wrong state protects nothing.
#
# References
#
# - ONNX IR specification, https://onnx.ai/onnx/repo-docs/IR.html.
# - Gilad-Bachrach et al. *CryptoNets*, ICML 2016 (notebooks 01-02).
# - Zhu, Liu, Han. *Deep Leakage from Gradients*, NeurIPS 2019; Geiping et al. *Inverting
#   Gradients*, NeurIPS 2020 (notebook 03).
# - Abadi et al. *Deep Learning with Differential Privacy*, CCS 2016 (notebook 06).
# - Costan, Devadas. *Intel SGX Explained*, 2016 (notebook 07).
# - NIST FIPS 203, *Module-Lattice-Based Key-Encapsulation Mechanism Standard*, 2024 (notebook 08).
# - Knott et al. *CrypTen: Secure Multi-Party Computation Meets Machine Learning*, NeurIPS 2021 (notebook 05).
# - The lab's documentation of the intake and the report: `docs/your-model.md`.
