"""A trained run as the tables read it: RunRow (one typed row per run, the record keeps it),
runs_frame (rows to a frame), runs.csv's rows, and whether a run ran away. Chapters build their
tables from these frames.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .metrics import correlation_matrix, mean_abs_offdiag, near_zero_fraction
from .train import runaway_epoch


def is_runaway(run: dict) -> bool:
    """Whether a run ran away (train.runaway_epoch) or ended with non-finite codes."""
    if "row" in run:                                  # a recorded run: judged again by record.as_run with this rule
        return bool(run["row"]["runaway"])
    return bool(runaway_epoch(run["history"], run["config"]["alpha"]) >= 0 or not torch.isfinite(run["test_codes"]).all())


def code_correlation(run: dict) -> np.ndarray:
    """The correlation matrix (n, n) of a run's test codes (stored in a recorded run)."""
    return run["correlation"] if "correlation" in run else correlation_matrix(run["test_codes"])


@dataclass(frozen=True)
class RunRow:
    """One trained run as every table reads it (a row of runs_frame; the record keeps it): its
    config's fields, its metrics and the statistics of its test codes."""

    key: str
    dataset: str
    code_version: str
    epochs: int
    hidden: str                   # the hidden widths, "128-64"
    bottleneck: int
    activation: str
    code_activation: str
    output: str
    loss: str
    penalty: str                  # "none": the standard loss
    alpha: float
    seed: int
    method: str                   # "standard" (no penalty) or "penalty"
    device: str                   # "unrecorded" for runs trained before it was recorded
    train_seconds: float          # its share of its stack's training time
    val_rmse: float
    test_rmse: float              # pooled over the test pixels
    test_rmse_per_image: float
    diverged: bool                # a non-finite loss or code
    runaway: bool                 # train.runaway_epoch, or non-finite codes
    runaway_epoch: int            # -1: never
    corr_mean: float              # mean |off-diagonal correlation| of its test codes (NaN if not finite)
    code_std_mean: float
    near_zero: float              # the fraction of near-zero code entries (NaN if not finite)

    @classmethod
    def of(cls, run: dict) -> "RunRow":
        """The row of a run: a recorded run keeps the row made from its full codes."""
        if "row" in run:
            return cls(**run["row"])
        cfg, metrics = run["config"], run["metrics"]
        codes = run["test_codes"].numpy()                                               # (Ntest, n)
        finite = bool(np.isfinite(codes).all())
        return cls(
            key=run["key"], dataset=cfg["dataset"], code_version=run["code_version"], epochs=cfg["epochs"],
            hidden="-".join(map(str, cfg["hidden"])), bottleneck=cfg["bottleneck"], activation=cfg["activation"],
            code_activation=cfg["code_activation"], output=cfg["output"], loss=cfg["loss"], penalty=cfg["penalty"],
            alpha=cfg["alpha"], seed=cfg["seed"], method="standard" if cfg["penalty"] == "none" else "penalty",
            device=metrics.get("device", "unrecorded"),
            train_seconds=metrics["train_seconds_shared"] / metrics["runs_trained_together"],
            val_rmse=metrics["val_rmse"], test_rmse=metrics["test_rmse"], test_rmse_per_image=metrics["test_rmse_per_image"],
            diverged=metrics["diverged_epoch"] >= 0 or not finite, runaway=is_runaway(run),
            runaway_epoch=runaway_epoch(run["history"], cfg["alpha"]),
            corr_mean=mean_abs_offdiag(correlation_matrix(codes)) if finite else np.nan,
            code_std_mean=float(run["code_std"].mean()), near_zero=near_zero_fraction(codes) if finite else np.nan)


FRAME_COLUMNS = [field.name for field in dataclasses.fields(RunRow)]   # runs_frame's columns, in its order


def runs_frame(runs: list[dict]) -> pd.DataFrame:
    """One row per run (RunRow): its config fields, metrics and code statistics."""
    return pd.DataFrame([dataclasses.asdict(RunRow.of(run)) for run in runs], columns=FRAME_COLUMNS)


# results/<profile>/runs.csv: one row per run a chapter used, for audit and for CI's checks of
# runaway runs by their signature (tests/test_quick_numbers.py).
RUN_COLUMNS = ["chapter", "model", "key", "dataset", "code_version", "device", "epochs", "hidden", "bottleneck", "code_activation",
               "output", "loss", "penalty", "alpha", "seed", "val_rmse", "test_rmse", "diverged", "runaway",
               "code_std_mean", "corr_mean", "train_seconds"]


def run_record(frame: pd.DataFrame, chapter: str) -> pd.DataFrame:
    """The rows of runs.csv for one chapter's runs (a runs_frame), one per run key; `model` is the
    page's name for a run's model where the frame has one (a labelled_frame's `model` or `label`
    column: a denoising or k-sparse run differs from the standard one only in fields runs.csv omits)."""
    names = frame["model"] if "model" in frame else frame["label"] if "label" in frame else ""
    return frame.assign(chapter=chapter, model=names).drop_duplicates("key")[RUN_COLUMNS]


def method_order(table: pd.DataFrame) -> list[str]:
    """The methods of a compression or code-quality table as its figures order them: PCA, the
    standard loss, then the penalties by name."""
    return ["PCA", "standard", *sorted(set(table.method) - {"PCA", "standard"})]


def labelled_frame(runs: dict[str, list[dict]], column: str = "label") -> pd.DataFrame:
    """One runs_frame for several models (label -> its runs), the label in `column`."""
    return pd.concat([runs_frame(group).assign(**{column: label}) for label, group in runs.items()], ignore_index=True)
