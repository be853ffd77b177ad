"""The penalty chapter (penalty_variants page): every decorrelation penalty of the registry, in
two stages. Stage 1 chooses each penalty's alpha on the validation RMSE of the profile's
`selection_seeds`; stage 2 trains the `variant_seeds`, a disjoint set, at the chosen alphas,
and tests each penalty against the standard loss seed by seed (Holm across cells).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import plots
from ..cache import get_runs
from ..config import DECORRELATION_PENALTIES, Profile, RunConfig
from ..penalties import REGISTRY
from ..runtable import runs_frame
from ..stats import LEVEL, RULE_FALLBACK, SELECTION_GROUP, alpha_selection, holm, holm_directions, paired_cell, selected_runs
from ..train import CODE_GROWTH, RUNAWAY_RATIO
from .decorrelation import PAPER_BY_N, PAPER_GAINS, closer_to_paper, histories, penalty_grid


def variant_selection_grid(profile: Profile, bottleneck: int, **fields) -> list[RunConfig]:
    """The penalty chapter, stage 1: the selection seeds x (standard + every decorrelation penalty
    at every variant alpha), on whose validation RMSE each penalty's alpha is chosen. Where the
    seeds and alphas agree, its standard and signed runs are decorrelation_grid's."""
    return penalty_grid(profile, bottleneck, profile.selection_seeds, DECORRELATION_PENALTIES,
                        profile.variant_alphas, **fields)


def variant_grid(profile: Profile, bottleneck: int, selected: dict[str, float], **fields) -> list[RunConfig]:
    """The penalty chapter, stage 2: the variant seeds x (standard + each penalty of `selected`
    at its alpha, the one stage 1 chose). No seed of stage 1 is among them (load_profile)."""
    common = dict(bottleneck=bottleneck, **profile.run_fields(), **fields)
    runs = []
    for seed in profile.variant_seeds:
        runs.append(RunConfig(seed=seed, **common))
        runs += [RunConfig(seed=seed, penalty=p, alpha=float(a), **common) for p, a in selected.items()]
    return runs


def linear_code_grid(profile: Profile, bottleneck: int) -> list[RunConfig]:
    """The penalty chapter's bottleneck-activation check: the standard loss with a linear code
    over the variant seeds (its LeakyReLU counterpart is variant_grid's standard runs)."""
    return variant_grid(profile, bottleneck, {}, code_activation="linear")


def variant_runs(settings, bottleneck: int, device: str | None = None, recorded: bool = False,
                 **fields) -> tuple[list[dict], list[dict]]:
    """The penalty chapter's runs at one code size, trained first where missing, in two stages:
    the selection runs (variant_selection_grid: the selection seeds at every variant alpha)
    and the table runs (variant_grid: the variant seeds at the alphas those select); `recorded`:
    the record's runs serve (a caller that reads no weights)."""
    selection_runs = get_runs(variant_selection_grid(settings, bottleneck, **fields), device=device, recorded=recorded)
    chosen = alpha_selection(runs_frame(selection_runs)).query("selected")
    alphas = dict(zip(chosen.penalty, chosen.alpha))
    selected = {penalty: float(alphas[penalty]) for penalty in DECORRELATION_PENALTIES}   # in chapter order
    return selection_runs, get_runs(variant_grid(settings, bottleneck, selected, **fields), device=device, recorded=recorded)


def penalty_chapter(settings: Profile, device: str | None = None) -> tuple[list[dict], list[dict]]:
    """Every run of the penalty chapter, trained where missing (the record's serve: its pages read
    no weights): stage 1's selection runs, and the table runs (stage 2 with the standard loss's
    linear-code runs), over the profile's code sizes."""
    selection_runs, runs = [], []
    for n in settings.bottlenecks:
        stage1, stage2 = variant_runs(settings, n, device, recorded=True)
        selection_runs += stage1
        runs += stage2 + get_runs(linear_code_grid(settings, n), device=device, recorded=True)
    return selection_runs, runs


def selected_models(runs: list[dict]) -> dict[tuple[int, str], list[dict]]:
    """(n, variant) -> that model's runs over seeds (seed order): the standard runs and, for each
    penalty, its runs at the alpha selected on validation (alpha_selection). What the chapters
    that evaluate trained codes (compression, code quality) compare."""
    by_key = {run["key"]: run for run in runs}
    chosen = selected_runs(runs_frame(runs)).sort_values(["bottleneck", "seed"], ascending=[False, True])
    models = {}
    for row in chosen.itertuples():
        variant = "standard" if row.penalty == "none" else row.penalty
        models.setdefault((row.bottleneck, variant), []).append(by_key[row.key])
    return models


def penalty_models(settings, device: str | None = None) -> dict[tuple[int, str], list[dict]]:
    """selected_models of the penalty chapter's table runs (variant_runs) at every code size of
    the profile: the standard loss and each penalty at its selected alpha, over the variant seeds
    (recorded runs serve: their evaluations are in the record)."""
    return selected_models([run for n in settings.bottlenecks
                            for run in variant_runs(settings, n, device, recorded=True)[1]])


def selected_alphas(selection_rows: pd.DataFrame) -> dict[int, dict[str, float]]:
    """n -> penalty -> the alpha stage 1 selected (alpha_selection of its runs' rows)."""
    chosen = alpha_selection(selection_rows).query("selected")
    return {int(n): {p: float(a) for p, a in zip(at_n.penalty, at_n.alpha)} for n, at_n in chosen.groupby("bottleneck")}


VARIANT_COLUMNS = ["bottleneck", "variant", "activation", "alpha", "rmse_mean", "rmse_std", "corr_mean",
                   "diff_mean", "diff_ci_low", "diff_ci_high", "p_value", "p_holm", "effect_size", "mde",
                   "equivalence_bound", "n_seeds", "code_std_mean", "n_runaway"]


def variant_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (n, variant, code activation) at the selected alpha: test RMSE, code
    correlation and scale, and the paired difference to the standard loss over the same seeds
    (stats.paired_cell; Holm's correction across the penalised cells of each code activation).
    A cell with a runaway run gets its mean difference only: no t interval on chaotic runs."""
    chosen = selected_runs(frame)
    standard = (chosen[chosen.method == "standard"].set_index(["bottleneck", "code_activation", "seed"])
                .test_rmse.sort_index())
    rows = []
    for (n, activation, penalty), group in chosen.groupby(SELECTION_GROUP, sort=False):
        row = {"bottleneck": n, "variant": "standard" if penalty == "none" else penalty,
               "activation": activation, "alpha": group.alpha.iloc[0],
               "rmse_mean": group.test_rmse.mean(), "rmse_std": group.test_rmse.std(),
               "corr_mean": group.corr_mean.mean(), "n_seeds": group.seed.nunique(),
               "code_std_mean": group.code_std_mean.mean(), "n_runaway": int(group.runaway.sum())}
        if penalty != "none":
            row.update(paired_cell(group.set_index("seed").test_rmse, standard.loc[(n, activation)], row["n_runaway"] > 0))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=VARIANT_COLUMNS)
    table["p_holm"] = table.groupby("activation").p_value.transform(holm)   # one family per code activation
    order = {name: i for i, name in enumerate(["standard", *REGISTRY])}      # the registry's order
    return table.sort_values(["bottleneck", "activation", "variant"], ascending=[False, False, True],
                             key=lambda s: s.map(order) if s.name == "variant" else s, ignore_index=True)


def code_activation_table(variants: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """code_activation.csv: the standard loss's mean test RMSE per n with each bottleneck
    activation (a variant_table), next to the paper's standard column, and linear minus LeakyReLU
    paired by seed over the table runs `frame` (stats.paired_cell; Holm across the code sizes)."""
    table = variants[variants.variant == "standard"].pivot(index="bottleneck", columns="activation", values="rmse_mean")
    table["paper"] = PAPER_BY_N.standard
    standard = frame[frame.method == "standard"]
    rows = []
    for n, runs in standard.groupby("bottleneck"):
        wide = runs.pivot(index="seed", columns="code_activation", values="test_rmse").dropna()   # (seeds, 2)
        rows.append({"bottleneck": n, **paired_cell(wide.linear, wide.leaky_relu, bool(runs.runaway.any()))})
    paired = pd.DataFrame(rows).reindex(columns=["bottleneck", "diff_mean", "diff_ci_low", "diff_ci_high", "p_value"])
    paired["p_holm"] = holm(paired.p_value)
    table = table.sort_index(ascending=False).reset_index().rename_axis(columns=None)
    return table.merge(paired, on="bottleneck", how="left")


def design_numbers(every_run: pd.DataFrame, settings: Profile, variants: list[str]) -> dict:
    """The penalty chapter's design and what happened to its runs (runaway runs per loss, in
    registry order: divergence is an outcome of each loss, not of the chapter)."""
    away = every_run.groupby("penalty", sort=False).runaway.agg(["sum", "size"])
    order = [p for p in dict.fromkeys(("none", *REGISTRY)) if p in away.index]
    by_penalty = "; ".join(f"{'standard' if p == 'none' else p} {int(away.loc[p, 'sum'])} of {int(away.loc[p, 'size'])}"
                           for p in order)
    return {"n_runs": len(every_run), "n_selection_seeds": len(settings.selection_seeds), "runaway_by_penalty": by_penalty,
            "n_seeds": len(settings.variant_seeds), "epochs": settings.epochs,
            "n_alphas": len(settings.variant_alphas), "n_variants": len(variants),
            "n_runaway": int(every_run.runaway.sum()), "n_diverged": int(every_run.diverged.sum()),
            "runaway_ratio": RUNAWAY_RATIO, "code_growth": CODE_GROWTH}


def code_activation_numbers(table: pd.DataFrame) -> dict:
    """Per code size, which bottleneck activation's standard runs come closer to the paper's
    standard column (absolute gap: where both lie below it, closer is not lower; untested) and the
    mean gaps, and where the paired test (code_activation_table) finds the linear code lower or higher."""
    names = {"leaky_relu": "LeakyReLU", "linear": "linear"}
    gaps, _ = closer_to_paper(table, names)
    parts = []
    for row in table.itertuples():
        gap = {column: abs(getattr(row, column) - row.paper) for column in names}
        near, far = sorted(names, key=gap.get)
        parts.append(f"n = {row.bottleneck}: {names[near]} ({gap[near]:.4f} against {gap[far]:.4f})")
    tested = table[table.p_value.notna()]
    lower, higher = holm_directions(tested)
    return {"activation_sentence": (
        f"Closer to the paper's standard column, by absolute gap: {'; '.join(parts)}; mean absolute gap "
        f"{gaps['leaky_relu']:.4f} for LeakyReLU and {gaps['linear']:.4f} for a linear code (untested: the paper gives "
        f"one number per cell, with no spread to test against). Against each other, paired by seed (the table's "
        f"diff: linear minus LeakyReLU), the linear code's test RMSE is lower at {lower} and higher at {higher} of "
        f"the {len(tested)} code sizes tested after Holm (differences {table.diff_mean.min():+.4f} to "
        f"{table.diff_mean.max():+.4f}).")}


def corr_spread_numbers(selection: pd.DataFrame, table_runs: pd.DataFrame, bottleneck: int) -> dict:
    """The standard loss's mean |correlation| at one code size from seed to seed: its range over
    both stages' seeds, and its means over the stage-1 seeds (a figure) and the table's seeds,
    which differ by that spread alone."""
    def standard(frame):
        return frame[(frame.method == "standard") & (frame.code_activation == "leaky_relu") & (frame.bottleneck == bottleneck)]

    first, table = standard(selection), standard(table_runs)
    both = pd.concat([first, table]).drop_duplicates("key")
    single = " (one coefficient per run)" if bottleneck == 2 else ""
    return {"sentence": f"The standard loss's mean |correlation| varies from seed to seed: at n = {bottleneck}{single} it "
                        f"spans {both.corr_mean.min():.3f} to {both.corr_mean.max():.3f} over the {both.seed.nunique()} seeds "
                        f"of both stages, with means {first.corr_mean.mean():.3f} over the stage-1 seeds (this figure) and "
                        f"{table.corr_mean.mean():.3f} over the table's."}


def alpha_edge_numbers(selection: pd.DataFrame, standard_val: pd.Series, alphas: list[float]) -> dict:
    """How often stage 1 chose the grid's smallest alpha, and in how many of those the standard
    loss (alpha = 0; mean validation RMSE per n in `standard_val`) was worse on validation."""
    chosen = selection.query("selected")
    fallback = chosen[chosen.rule == RULE_FALLBACK]                 # set by the rule, not by validation
    validated = chosen[chosen.rule != RULE_FALLBACK]
    at_edge = validated[validated.alpha == min(alphas)]
    above = at_edge[at_edge.bottleneck.map(standard_val) > at_edge.val_rmse_mean]
    return {"n_choices": len(validated), "n_edge": len(at_edge), "n_edge_bracketed": len(above), "min_alpha": min(alphas),
            "n_fallback": len(fallback),
            "edge_list": ", ".join(f"{r.penalty} at n = {r.bottleneck}" for r in at_edge.itertuples()) or "none"}


def bounded_sentence(bounded: pd.DataFrame, standard: pd.DataFrame) -> str:
    """What the bounded variants did to the codes (means over code sizes, untested): decorrelate,
    shrink, or both; each variant's mean |correlation| and code std against the standard loss's."""
    per = bounded.groupby("variant", sort=False).agg(corr=("corr_mean", "mean"), scale=("code_std_mean", "mean"),
                                                     away=("n_runaway", "sum"))
    corr, std = standard.corr_mean.mean(), standard.code_std_mean.mean()
    parts = [f"{r.Index} {r.corr:.3f} (code std {r.scale:.3g}, {r.scale / std:.2f} of the standard's"
             + (f"; {int(r.away)} runaway run{'s' if r.away > 1 else ''}" if r.away else "") + ")"
             for r in per.itertuples()]
    return (f"{int((per['corr'] < corr).sum())} of the {len(per)} bounded variants lowered the mean |correlation| of the "
            f"test codes at their selected alpha (untested; means over the code sizes and table seeds; standard "
            f"loss {corr:.3f}, code std {std:.3g}): " + "; ".join(parts) + ". The correlation does not depend on the "
            "codes' scale, so a lower one is decorrelation; a code std below the standard's is shrinkage besides.")


def variant_numbers(table: pd.DataFrame) -> dict:
    """The numbers the penalty chapter's text cites, from its table (penalty_variants.variant_table): the
    LeakyReLU-code cells tested and significant after Holm, the design's reach, and what eq. 3 and
    the scale-free correlation penalty do to the codes. Names are the page's glue names."""
    leaky = table[table.activation == "leaky_relu"]
    standard, penalised = leaky[leaky.variant == "standard"], leaky[leaky.variant != "standard"]
    signed, tested = penalised[penalised.variant == "signed"], penalised[penalised.p_value.notna()]
    better = tested[(tested.p_holm < LEVEL) & (tested.diff_mean < 0)]
    pool = tested if len(tested) else penalised        # the largest gain among cells that have a p
    best = pool.loc[pool.diff_mean.idxmin()]
    corr, scale = signed.corr_mean.mean(), signed.code_std_mean.mean()
    inflated = scale > 10 * standard.code_std_mean.mean()
    return {
        "n_cells": len(penalised), "n_tested": len(tested), "n_raw_significant": int((tested.p_value < LEVEL).sum()),
        "n_significant_better": len(better), "n_significant_worse": int(((tested.p_holm < LEVEL) & (tested.diff_mean > 0)).sum()),
        "significant_list": f" ({', '.join(f'{r.variant} at n = {r.bottleneck}' for r in better.itertuples())})" if len(better) else "",
        "best_variant": best.variant, "best_n": int(best.bottleneck), "best_diff": float(best.diff_mean),
        "best_p": float(best.p_value), "best_p_holm": float(best.p_holm),
        "mde_median": float(tested.mde.median()), "equivalence_median": float(tested.equivalence_bound.median()),
        "signed_runaway": int(signed.n_runaway.sum()), "signed_cells_runs": int(signed.n_seeds.sum()),
        "signed_code_std": float(scale), "standard_code_std": float(standard.code_std_mean.mean()),
        "signed_corr": float(corr), "standard_corr": float(standard.corr_mean.mean()),
        "signed_verdict": ("raised the mean |correlation| of the codes" if corr > standard.corr_mean.mean()
                           else "lowered the mean |correlation| of the codes")
        + (" and inflated them" if inflated else "") + f" (untested: {int((signed.n_runaway > 0).sum())} of {len(signed)} cells hold a runaway run)",
        "signed_mechanism": f"Nothing bounds its signed sum from below, and its codes ended at about "
        f"{scale / standard.code_std_mean.mean():.0e} times the standard loss's scale." if inflated else "Its codes stay within 10 times the scale of the standard loss.",
        "bounded_sentence": bounded_sentence(penalised[penalised.variant != "signed"], standard),
        "paper_gain_min": float(PAPER_GAINS.min()), "paper_gain_max": float(PAPER_GAINS.max()),
    }


def plot_alpha_selection(selection, standard_val, variants: list[str]):
    """Stage 1 of the penalty chapter, one panel per code size: mean validation RMSE against
    alpha per penalty, its selected alpha circled, the standard loss dashed. The y range is that of
    the alphas whose runs did not run away (and the standard loss): a runaway alpha is a cross on
    the panel's top edge, so the bounded penalties stay readable."""
    sizes, colours = sorted(selection.bottleneck.unique(), reverse=True), plots.method_colours(variants)
    markers = plots.method_markers(variants)
    fig, axes = plots.figure(ncols=len(sizes), width=4, height=3.3, sharey=False)
    for ax, n in zip(np.atleast_1d(axes), sizes):
        at_n = selection.query("bottleneck == @n")
        kept = [v for v in at_n.query("n_runaway == 0").val_rmse_mean if np.isfinite(v)] + [standard_val[n]]
        low, high = min(kept), max(kept)
        ax.set_ylim(low - 0.08 * (high - low + 1e-3), high + 0.08 * (high - low + 1e-3))
        for variant in variants:
            rows, colour = at_n.query("penalty == @variant"), colours[variant]
            fine = rows.val_rmse_mean.where(rows.n_runaway == 0)
            ax.plot(rows.alpha, fine, "-", marker=markers[variant], label=plots.label(variant), markersize=4, color=colour)
            chosen, away, top = rows.query("selected"), rows.query("n_runaway > 0"), ax.get_ylim()[1]
            ax.plot(chosen.alpha, chosen.val_rmse_mean.where(chosen.n_runaway == 0, top), "o", markersize=9,
                    mfc="none", color=colour, clip_on=False)
            if len(away):   # at its mean where that is on the axis, else on the top edge (an empty unclipped
                on_axis = away.val_rmse_mean.where(away.val_rmse_mean < top, top)   # line would stretch the layout)
                ax.plot(away.alpha, on_axis, "x", color=colour, clip_on=False)
        ax.axhline(standard_val[n], linestyle="--", color="black", label="standard")
        ax.set(xscale="log", xlabel="alpha")
        ax.set_title(f"n = {n}", pad=10)                  # clear of the markers on the top edge
    np.atleast_1d(axes)[0].set_ylabel("validation RMSE (mean over seeds)")
    ax.plot([], [], "o", markersize=9, mfc="none", color="black", label="selected alpha")
    ax.plot([], [], "x", color="black", label="some run ran away")
    plots.legend_outside(fig)
    return fig


def plot_decorrelate_or_shrink(frame, variants: list[str], bottlenecks: list[int]):
    """Mean |correlation| and mean std of the test codes against alpha (means over seeds), one
    colour and marker per penalty and one line style per code size; black lines: the standard loss."""
    penalised, standard = frame[frame.method == "penalty"], frame[frame.method == "standard"]
    by_alpha = penalised.groupby(["bottleneck", "penalty", "alpha"])[["corr_mean", "code_std_mean"]].mean().reset_index()
    baseline = standard.groupby("bottleneck")[["corr_mean", "code_std_mean"]].mean()
    styles, colours = plots.SIZE_STYLES, plots.method_colours(variants)       # styles cycled: no code size is dropped
    markers = plots.method_markers(variants)
    fig, axes = plots.figure(ncols=2, width=5, height=3.6)
    for j, n in enumerate(bottlenecks):
        style = styles[j % len(styles)]
        for variant in variants:
            rows = by_alpha.query("bottleneck == @n and penalty == @variant")
            for ax, column in zip(axes, ("corr_mean", "code_std_mean")):
                ax.plot(rows.alpha, rows[column], style, color=colours[variant], marker=markers[variant], markersize=4,
                        label=plots.label(variant) if j == 0 and column == "corr_mean" else None)
        for ax, column in zip(axes, ("corr_mean", "code_std_mean")):
            ax.axhline(baseline[column][n], color="black", linestyle=style, linewidth=0.8)
        axes[0].plot([], [], style, color="black", label=f"n = {n} (black: standard)")
    axes[0].set(xscale="log", xlabel="alpha", ylabel="mean |correlation| of test codes")
    axes[1].set(xscale="log", yscale="log", xlabel="alpha", ylabel="mean std of a code dimension")
    plots.legend_outside(fig)
    return fig


def plot_runaway_run(frame, runs: list[dict]):
    """The runaway run with the largest code scale next to the standard run of its seed and n:
    reconstruction loss, weighted penalty and validation RMSE per epoch; None if none ran away."""
    away = frame[frame.runaway].sort_values("code_std_mean", ascending=False)
    if not len(away):
        return None
    worst = away.iloc[0]
    pair = frame.query("method == 'standard' and code_activation == 'leaky_relu' and "
                       "bottleneck == @worst.bottleneck and seed == @worst.seed").iloc[0]
    history, base = histories(runs, [worst.key, pair.key])
    epochs = np.arange(1, len(history["train_recon"]) + 1)
    colours = plots.method_colours([worst.penalty, "standard"])      # the hues every other figure gives them
    fig, axes = plots.figure(ncols=3, width=4, height=3.2)
    axes[0].plot(epochs, history["train_recon"], label=f"{plots.label(worst.penalty)}, alpha = {worst.alpha:g}",
                 color=colours[worst.penalty])
    axes[0].plot(epochs, base["train_recon"], label="standard", color=colours["standard"])
    axes[0].set(xlabel="epoch", ylabel="reconstruction loss (train BCE per pixel)", yscale="log")   # grows by decades
    plots.legend_outside(fig)
    axes[1].plot(epochs, worst.alpha * np.asarray(history["train_penalty"]), color=colours[worst.penalty])
    axes[1].set(xlabel="epoch", ylabel="alpha x penalty (train)")
    plots.symlog_axis(axes[1])                                   # either sign, many decades: a tick every third
    plots.training_curves(axes[2], {plots.label(worst.penalty): [history], "standard": [base]},
                          colors=[colours[worst.penalty], colours["standard"]])
    axes[2].get_legend().remove()                     # the figure's legend names both series once
    fig.suptitle(f"n = {worst.bottleneck}, seed {worst.seed}: final code std {worst.code_std_mean:.3g} "
                 f"(standard {pair.code_std_mean:.3g})", fontsize="medium")
    return fig
