"""The book's page figures, one function per figure: a page calls it with its tables or runs.

`plots` holds the style and the panels these are built from; a figure's caption stays with the
cell that calls it (its alt text). Which page draws which figure is stated once, in chapters.PAGES
(README's "Which code makes which table and figure" is generated from it).
"""
from __future__ import annotations

import numpy as np

from . import plots
from .data import CLASS_NAMES
from .experiments import class_reconstructions
from .pages import NAMES
from .report import code_correlation, method_order, runaway_marked, selected_runs

# --- the paper's chapters (decorrelation, embeddings, penalty variants, compression, code quality) ---


def _histories(runs: list[dict], keys) -> list[dict]:
    """The training histories of the runs with these keys, in that order."""
    by_key = {run["key"]: run for run in runs}
    return [by_key[key]["history"] for key in keys]


def training_curves(frame, runs: list[dict], bottlenecks: list[int], alphas: list[float]):
    """Per code size: validation RMSE per epoch, standard against the penalty at its selected
    alpha (top), and the penalty term per epoch at every alpha, in shades of one hue (bottom)."""
    chosen = selected_runs(frame)
    fig, axes = plots.figure(ncols=len(bottlenecks), nrows=2, width=4, height=3.2)
    axes = np.asarray(axes).reshape(2, len(bottlenecks))
    for col, n in enumerate(bottlenecks):
        at_n, all_at_n = chosen[chosen.bottleneck == n], frame[frame.bottleneck == n]
        penalised = at_n[at_n.method == "penalty"]
        away = f"\n{penalised.runaway.sum()} of {len(penalised)} penalty runs ran away" if penalised.runaway.any() else ""
        groups = {"standard": _histories(runs, at_n[at_n.method == "standard"].key),
                  f"{plots.label('penalty')}, selected alpha": _histories(runs, penalised.key)}
        last = col == len(bottlenecks) - 1                           # one legend per row, beside its last panel
        plots.training_curves(axes[0, col], groups, colors=list(plots.method_colours(["standard", "penalty"]).values()),
                              legend=last)
        axes[0, col].set_title(f"n = {n}, alpha = {penalised.alpha.iloc[0]:g}{away}")
        by_alpha = {f"alpha = {a:g}": _histories(runs, all_at_n[all_at_n.alpha == a].key) for a in alphas}
        plots.training_curves(axes[1, col], by_alpha, key="train_penalty", ylabel="penalty term (train)",
                              colors=plots.graded(len(alphas)), legend=last)
        plots.symlog_axis(axes[1, col])                             # the term spans 1 to 1e18 when codes blow up
    return fig


def correlation_pair(frame, runs: list[dict], bottleneck: int, seed: int):
    """Correlation matrices of one seed's test codes at one code size: standard, then the penalty
    at its selected alpha."""
    chosen, by_key = selected_runs(frame), {run["key"]: run for run in runs}
    fig, axes = plots.figure(ncols=2, width=4, height=4)
    for ax, method in zip(axes, ("standard", "penalty")):
        row = chosen.query("bottleneck == @bottleneck and method == @method and seed == @seed").iloc[0]
        title = "standard" if method == "standard" else f"{plots.label(method)}, alpha = {row.alpha:g}"
        plots.correlation_heatmap(ax, code_correlation(by_key[row.key]),
                                  title=f"{title}, n = {bottleneck}, seed {seed}" + (" (ran away)" if row.runaway else ""))
        ax.set(xlabel="code dimension", ylabel="code dimension")
    return fig



def alpha_selection(selection, standard_val, variants: list[str]):
    """Stage 1 of the penalty chapter, one panel per code size: mean validation RMSE against
    alpha per penalty, its selected alpha circled, the standard loss dashed. The y range is that of
    the alphas whose runs did not run away (and the standard loss): a runaway alpha is a cross on
    the panel's top edge, so the bounded penalties stay readable."""
    sizes, colours = sorted(selection.bottleneck.unique(), reverse=True), plots.method_colours(variants)
    fig, axes = plots.figure(ncols=len(sizes), width=4, height=3.3, sharey=False)
    for ax, n in zip(np.atleast_1d(axes), sizes):
        at_n = selection.query("bottleneck == @n")
        kept = [v for v in at_n.query("n_runaway == 0").val_rmse_mean if np.isfinite(v)] + [standard_val[n]]
        low, high = min(kept), max(kept)
        ax.set_ylim(low - 0.08 * (high - low + 1e-3), high + 0.08 * (high - low + 1e-3))
        for variant in variants:
            rows, colour = at_n.query("penalty == @variant"), colours[variant]
            fine = rows.val_rmse_mean.where(rows.n_runaway == 0)
            ax.plot(rows.alpha, fine, "o-", label=plots.label(variant), markersize=3, color=colour)
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
    ax.plot([], [], "x", color="black", label="some run ran away")
    plots.legend_outside(fig)
    return fig


def decorrelate_or_shrink(frame, variants: list[str], bottlenecks: list[int]):
    """Mean |correlation| and mean std of the test codes against alpha (means over seeds), one
    colour per penalty and one line style per code size; black lines: the standard loss."""
    penalised, standard = frame[frame.method == "penalty"], frame[frame.method == "standard"]
    by_alpha = penalised.groupby(["bottleneck", "penalty", "alpha"])[["corr_mean", "code_std_mean"]].mean().reset_index()
    baseline = standard.groupby("bottleneck")[["corr_mean", "code_std_mean"]].mean()
    styles, colours = ["-", "--", ":", "-."], plots.method_colours(variants)   # styles cycled: no code size is dropped
    fig, axes = plots.figure(ncols=2, width=5, height=3.6)
    for j, n in enumerate(bottlenecks):
        style = styles[j % len(styles)]
        for variant in variants:
            rows = by_alpha.query("bottleneck == @n and penalty == @variant")
            for ax, column in zip(axes, ("corr_mean", "code_std_mean")):
                ax.plot(rows.alpha, rows[column], style, color=colours[variant], marker="o", markersize=3,
                        label=plots.label(variant) if j == 0 and column == "corr_mean" else None)
        for ax, column in zip(axes, ("corr_mean", "code_std_mean")):
            ax.axhline(baseline[column][n], color="black", linestyle=style, linewidth=0.8)
        axes[0].plot([], [], style, color="black", label=f"n = {n} (black: standard)")
    axes[0].set(xscale="log", xlabel="alpha", ylabel="mean |correlation| of test codes")
    axes[1].set(xscale="log", yscale="log", xlabel="alpha", ylabel="mean std of a code dimension")
    plots.legend_outside(fig)
    return fig


def runaway_run(frame, runs: list[dict]):
    """The runaway run with the largest code scale next to the standard run of its seed and n:
    reconstruction loss, weighted penalty and validation RMSE per epoch; None if none ran away."""
    away = frame[frame.runaway].sort_values("code_std_mean", ascending=False)
    if not len(away):
        return None
    worst = away.iloc[0]
    pair = frame.query("method == 'standard' and code_activation == 'leaky_relu' and "
                       "bottleneck == @worst.bottleneck and seed == @worst.seed").iloc[0]
    history, base = _histories(runs, [worst.key, pair.key])
    epochs = np.arange(1, len(history["train_recon"]) + 1)
    colours = plots.method_colours([worst.penalty, "standard"])      # the hues every other figure gives them
    fig, axes = plots.figure(ncols=3, width=4, height=3.2)
    axes[0].plot(epochs, history["train_recon"], label=f"{plots.label(worst.penalty)}, alpha={worst.alpha:g}",
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


def figure1(table, runs: dict, labels, seed: int, class_names):
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


def code_maps(maps: dict, labels, class_names, legend_on_each: bool = True, axes_named="code"):
    """2-D maps of codes side by side (panel title -> (N, 2) points), coloured by class; the class
    legend on each panel, or on the last only; axes_named: what the axes are ("t-SNE"), one for
    all panels or a list."""
    names = [axes_named] * len(maps) if isinstance(axes_named, str) else axes_named
    fig, axes = plots.figure(ncols=len(maps), width=5, height=5)
    for i, (ax, (title, points)) in enumerate(zip(np.atleast_1d(axes), maps.items())):
        plots.scatter_codes(ax, points, labels[: len(points)], title=title, class_names=class_names,
                            legend=legend_on_each or i == len(maps) - 1, axis=names[i])
    return fig


def rate_distortion(table):
    """Test RMSE and PSNR against bits per image (report.rate_distortion_table), one curve per
    method and code size; a method some of whose runs ran away is marked so in the legend."""
    fig, axes = plots.figure(ncols=2, width=5.5, height=4)
    for ax, column in zip(axes, ("rmse", "psnr")):
        plots.rate_distortion(ax, table, column, method_order(table),
                              suffix={m: " (runs ran away)" for m, shown in runaway_marked(table).items() if shown != m})
    plots.legend_outside(fig)
    return fig


def code_quality(quality):
    """kNN accuracy, logistic-regression accuracy and trustworthiness of the test codes against
    code size (report.code_quality_table), one line per method."""
    classes = len(CLASS_NAMES[quality.dataset.iloc[0]])
    fig, axes = plots.figure(ncols=3, width=4, height=3.5)
    for ax, column in zip(axes, ("knn_accuracy", "logreg_accuracy", "trustworthiness")):
        plots.by_code_size(ax, quality, column, method_order(quality), ylabel=NAMES[column], legend=False)
        if column != "trustworthiness":
            ax.axhline(1 / classes, linestyle=":", color="grey", label=f"chance ({classes} classes)")
    plots.legend_outside(fig)
    return fig


def reconstructions(runs: dict, test):
    """The first test image of each class (top row of each grid) and its reconstruction by the
    first seed of each model (label -> runs), one grid per model."""
    originals, recon = class_reconstructions(runs, test)                             # (10, 784) each
    fig, axes = plots.figure(nrows=len(runs), width=7, height=1.7)
    for ax, (label, group) in zip(np.atleast_1d(axes), runs.items()):
        plots.reconstruction_grid(ax, originals, recon[label], title=f"{label} (n={group[0]['config']['bottleneck']})")
    return fig


def code_size_curve(pca: dict, paper_curve, table):
    """Test RMSE against code size: PCA, the paper chapter's MLP (mean per n) and the student
    report's models (activations_losses_table: mean and std over seeds)."""
    sizes, colours = list(pca), plots.method_colours(["PCA", "standard", *table.label])
    fig, ax = plots.figure(width=6.5, height=4.5)
    ax.plot(sizes, [pca[n] for n in sizes], "o-", color=colours["PCA"], label="PCA")
    ax.plot(paper_curve.index, paper_curve.values, "s-", color=colours["standard"],
            label="784-128-64-n, sigmoid + BCE (paper chapter)")
    for i, row in enumerate(table.itertuples()):           # nudged apart: two models can share a code size
        ax.errorbar(row.bottleneck * 1.04 ** (i - (len(table) - 1) / 2), row.rmse_mean, yerr=row.rmse_std,
                    fmt=plots.MARKERS[(i + 2) % len(plots.MARKERS)], capsize=3, color=colours[row.label],
                    label=f"{row.model} (n = {row.bottleneck}), {row.label}")
    plots.code_size_axis(ax, sizes)
    ax.set_ylabel("test RMSE")
    plots.legend_outside(fig, loc="outside lower center", ncol=2)
    return fig

# --- the lecture notes' and the student report's chapters (pca_vs_ae, regularizers) ---


def image_panels(panels: dict, width: float = 8.0, height: float = 1.8):
    """One row of images per panel (title -> list of image rows, each (N, 784); e.g. originals
    above their reconstructions), the panels stacked: the lecture chapters' image figures."""
    fig, axes = plots.figure(nrows=len(panels), width=width, height=height)
    for ax, (title, rows) in zip(np.atleast_1d(axes), panels.items()):
        plots.image_rows(ax, rows, title=title)
    return fig


def code_heatmaps(codes: dict):
    """The codes of a few images (label -> (N, n)) of six models, one heatmap each (plots.code_heatmap)."""
    fig, axes = plots.figure(ncols=3, nrows=2, width=3.6, height=2.6)
    for ax, (label, part) in zip(axes.flat, codes.items()):
        image = plots.code_heatmap(ax, part, title=label)
    fig.colorbar(image, ax=axes, shrink=0.6, label="|code| / the row's largest")
    return fig


def denoising_curves(denoising, models: list[str]):
    """denoising.csv as test RMSE against the clean images per test noise level, one panel per
    noise kind, one line per model (mean over seeds; bars: std)."""
    fig, axes = plots.figure(ncols=2, width=4.5, height=3.5, sharey=True)
    colours = plots.method_colours(models)
    for ax, kind in zip(axes, ("gaussian", "masking")):
        for label in models:
            part = denoising[(denoising.noise == kind) & (denoising.model == label)]
            ax.errorbar(part.level, part.rmse, yerr=part.rmse_std, marker="o", capsize=2, label=label, color=colours[label])
        ax.set(xlabel="std of the Gaussian noise" if kind == "gaussian" else "masking probability",
               title=f"{kind.capitalize()} test noise")
    axes[0].set_ylabel("test RMSE against clean images")
    plots.legend_outside(fig, loc="outside lower center", ncol=3)
    return fig
