"""The alpha explorer's data: the penalty chapter's stage-1 runs, from their records, as the flat
tables an interactive chart filters (no kernel, no weights: everything comes from record files).

`explorer_data(records, alphas)` takes run records (record.run_records' dicts, from record/ or made
on the fly from cached runs) and returns four tables keyed by (penalty, n, alpha index):
  runs:   one row per run: seed, validation and test RMSE, mean |correlation|, code scale, runaway epoch;
  curves: validation RMSE per epoch and run;
  corr:   the code correlation matrix of the first seed's run, one row per entry;
  images: ten test digits reconstructed by the first seed's run, as a PNG data URI.
The standard loss is penalty "standard" at alpha index -1: charts show it beside every alpha.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from .record import decode_array

STANDARD_INDEX = -1     # the standard loss has no alpha: it is drawn beside every one


def _key(content: dict, alphas: list[float]) -> dict:
    """The (penalty, n, alpha index) a run belongs to in the explorer."""
    cfg = content["config"]
    standard = cfg["penalty"] == "none"
    return {"penalty": "standard" if standard else cfg["penalty"], "n": cfg["bottleneck"],
            "alpha_index": STANDARD_INDEX if standard else alphas.index(cfg["alpha"]),
            "alpha": 0.0 if standard else cfg["alpha"]}


def png_uri(images: np.ndarray) -> str:
    """Images (k, 784) in 0..255 as one PNG strip (28 x 28k), a data URI."""
    import matplotlib.image

    strip = np.concatenate(np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28), axis=1)    # (28, 28k)
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, strip, cmap="gray", vmin=0, vmax=255, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def explorer_data(records: list[dict], alphas: list[float], every: int = 1) -> dict[str, pd.DataFrame]:
    """The explorer's tables from run records (see the module's docstring); `every`: keep every
    k-th epoch of the curves (the page stays light)."""
    runs, curves, corr, images = [], [], [], []
    first_seed = min(content["config"]["seed"] for content in records)
    for content in records:
        key, row = _key(content, alphas), content["row"]
        runs.append({**key, "seed": row["seed"], "val_rmse": row["val_rmse"], "test_rmse": row["test_rmse"],
                     "corr_mean": row["corr_mean"], "code_std_mean": row["code_std_mean"],
                     "runaway": bool(row["runaway"]), "runaway_epoch": int(row["runaway_epoch"])})
        val = decode_array(content["history"]["val_rmse"])                         # (epochs,)
        curves += [{**key, "seed": row["seed"], "epoch": e + 1, "val_rmse": float(v)}
                   for e, v in enumerate(val) if (e + 1) % every == 0 or e + 1 == len(val)]
        if row["seed"] != first_seed:
            continue
        matrix = decode_array(content["arrays"]["correlation"])                   # (n, n)
        corr += [{**key, "i": i + 1, "j": j + 1, "value": float(matrix[i, j])}
                 for i in range(len(matrix)) for j in range(len(matrix))]
        images.append({**key, "url": png_uri(decode_array(content["arrays"]["reconstructions"]))})
    return {"runs": pd.DataFrame(runs), "curves": pd.DataFrame(curves), "corr": pd.DataFrame(corr),
            "images": pd.DataFrame(images)}


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (penalty, n, alpha index): the means over seeds, how many runs ran away, and the
    standard loss's mean at that n (what the explorer's numbers show)."""
    table = (runs.groupby(["penalty", "n", "alpha_index", "alpha"])
             .agg(val_rmse=("val_rmse", "mean"), test_rmse=("test_rmse", "mean"), corr_mean=("corr_mean", "mean"),
                  code_std_mean=("code_std_mean", "mean"), n_runaway=("runaway", "sum"), n_seeds=("seed", "nunique"))
             .reset_index())
    standard = table[table.penalty == "standard"].set_index("n")
    return table.assign(standard_test_rmse=table.n.map(standard.test_rmse),
                        standard_val_rmse=table.n.map(standard.val_rmse))
