"""Figure 1 (embeddings page): the class silhouette of the n = 2 test codes of the paper's runs
(figure1.csv), the figure itself, and t-SNE maps of the n = 8 codes.
"""
from __future__ import annotations

import pandas as pd

from .. import evaluations, plots
from ..runtable import runs_frame
from ..cache import get_runs
from ..config import Profile
from ..record import CODES_UP_TO
from ..stats import selected_runs
from .decorrelation import decorrelation_grid


FIGURE1_COLUMNS = ["bottleneck", "method", "alpha", "seed", "silhouette", "runaway", "code_std_mean", "key"]


def figure1_table(settings: Profile, labels, bottleneck: int = 2, device: str | None = None) -> tuple[pd.DataFrame, dict]:
    """figure1.csv: the class silhouette (evaluations.silhouette) of the test codes of the
    paper's standard and selected-alpha penalty runs (decorrelation_grid), one row per run; and
    the runs by key (their test codes, n <= 2, are the pictures)."""
    runs = get_runs(decorrelation_grid(settings, bottleneck), device=device, recorded=bottleneck <= CODES_UP_TO)
    by_key = {run["key"]: run for run in runs}
    chosen = selected_runs(runs_frame(runs))
    chosen = chosen.assign(silhouette=[evaluations.silhouette(by_key[key], labels) for key in chosen.key])
    table = chosen.sort_values(["method", "seed"], ascending=[False, True], ignore_index=True)
    return table[FIGURE1_COLUMNS], by_key


def tsne_maps(settings: Profile, seed: int, perplexity: float, bottleneck: int = 8,
              device: str | None = None) -> tuple[dict, pd.DataFrame]:
    """t-SNE maps (evaluations.tsne_map) of the first tsne_size test codes of one seed's standard
    and selected-alpha penalty runs of the paper's grid at `bottleneck`, keyed by panel title;
    and the frame of every seed's runs there (is the seed drawn a typical one?)."""
    runs = get_runs(decorrelation_grid(settings, bottleneck), device=device, recorded=True)
    by_key, frame = {run["key"]: run for run in runs}, runs_frame(runs)
    chosen = selected_runs(frame).query("seed == @seed")
    maps = {}
    for row in chosen.sort_values("method", ascending=False).itertuples():          # standard first
        title = "standard" if row.method == "standard" else f"{plots.label(row.method)}, alpha = {row.alpha:g}"
        title += " (ran away)" if row.runaway else ""
        maps[f"t-SNE, {title}"] = evaluations.tsne_map(by_key[row.key], settings.tsne_size, perplexity)   # (size, 2)
    return maps, frame


def drawn_seed_numbers(frame: pd.DataFrame, bottleneck: int, seed: int) -> dict:
    """One sentence on the seed a figure draws at one code size: its standard and selected-alpha
    penalty runs' test RMSE against the means over seeds (a reader sees whether it is typical)."""
    runs = selected_runs(frame).query("bottleneck == @bottleneck")
    parts = []
    for method, group in runs.groupby("method", sort=False):
        one = group[group.seed == seed].iloc[0]
        name = "standard" if method == "standard" else f"penalty (alpha = {one.alpha:g})"
        parts.append(f"{name} {one.test_rmse:.4f} (mean {group.test_rmse.mean():.4f})")
    return {"sentence": f"The seed drawn (seed {seed}) is the first, not one chosen as typical: its test RMSE at n = "
                        f"{bottleneck}, with the mean over the {runs.seed.nunique()} seeds in brackets: "
                        + "; ".join(sorted(parts, key=lambda part: not part.startswith("standard"))) + "."}


def silhouette_numbers(compactness: pd.DataFrame) -> dict:
    """Figure 1 in numbers: the mean class silhouette of each method's 2-D codes, in how many
    seeds the penalty's is higher, and how many of its runs ran away."""
    wide = compactness.pivot(index="seed", columns="method", values="silhouette")
    gap = wide.penalty - wide.standard
    away = int(compactness.query("method == 'penalty'").runaway.sum())
    sentence = (f"The penalty's mean silhouette is the {'higher' if gap.mean() > 0 else 'lower'} (untested); "
                f"it is higher in {int((gap > 0).sum())} of {len(gap)} seeds."
                + (f" All {away} penalty runs ran away, so this does not test a working penalty." if away == len(gap) else
                   f" {away} of its {len(gap)} runs ran away." if away else ""))
    note = (f"all {away} penalty runs ran away, so the right panel shows a blown-up code, not a working penalty"
            if away == len(gap) else f"{away} of the {len(gap)} penalty runs ran away" if away else "no penalty run ran away")
    return {"silhouette_standard": float(wide.standard.mean()), "silhouette_penalty": float(wide.penalty.mean()),
            "higher": int((gap > 0).sum()), "n_seeds": len(gap), "n_runaway": away, "sentence": sentence,
            "runaway_note": note}


def plot_figure1(table, runs: dict, labels, seed: int, class_names):
    """The paper's Figure 1 as this build makes it: one seed's 2-D test codes (a figure1_table and
    its runs by key), standard and penalty, by class; a runaway panel says so, with its scale."""
    panels = table.query("seed == @seed").set_index("method")
    fig, axes = plots.figure(ncols=2, width=5, height=5)
    for ax, method in zip(axes, ("standard", "penalty")):
        row = panels.loc[method]
        title = "standard" if method == "standard" else f"{plots.label(method)}, alpha = {row.alpha:g}"
        if row.runaway:
            title += f"\nran away: code std {row.code_std_mean:.2g}"
        plots.scatter_codes(ax, runs[row.key]["test_codes"], labels, title=title, class_names=class_names)
        ax.ticklabel_format(style="sci", scilimits=(-2, 3))
    return fig
