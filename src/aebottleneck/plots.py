"""Every figure of the book that more than one notebook could want. Functions draw on an Axes
(or return a Figure) and never save; notebooks call them and show the result.

Importing this module sets the book's one figure style (`book_style`): seaborn's theme with its
colour-blind-safe palette, legends off the data (`legend_outside`), larger markers, and figures
shown as 2x (retina) PNGs. A figure's alt text comes from its caption (`alt_text`), which a
notebook gives in the cell's metadata (`mystnb.figure.caption`); `execute` copies it into the
image's alt attribute."""
from __future__ import annotations

import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from torchvision.utils import make_grid

PALETTE = "colorblind"        # seaborn's colour-blind-safe palette (Wong's colours), 10 distinct hues
DIGIT_PALETTE = PALETTE       # one colour per class, ten classes
LABELS = {"signed": "signed (eq. 3)", "penalty": "signed (eq. 3)"}   # the paper's penalty, named one way on every figure


def label(method: str) -> str:
    """A method as every figure names it (the paper's eq. 3 is the registry's "signed")."""
    return LABELS.get(method, method)


def method_colours(methods) -> dict:
    """method -> its colour: PCA grey, the standard loss and each decorrelation penalty (in the
    registry's order) a fixed hue on every figure; any other method a hue no method of this
    figure takes, the most distinct first (orange and vermilion, close, are spared apart)."""
    from .penalties import DECORRELATION

    palette = sns.color_palette(PALETTE, 10)
    hues = [palette[i] for i in (0, 1, 2, 3, 4, 9)]          # Wong's blue, orange, green, vermilion, purple, sky blue
    fixed = {"PCA": palette[7], "penalty": hues[1], **dict(zip(("standard", *DECORRELATION), hues))}
    taken = {fixed[m] for m in methods if m in fixed}
    distinct = [palette[i] for i in (0, 2, 1, 4, 9, 5, 3, 6, 8)]   # blue, green, orange, purple, sky blue, tan, ...
    spare = iter([c for c in distinct + sns.color_palette("dark", 10) if c not in taken])
    return {m: fixed[m] if m in fixed else next(spare) for m in methods}


def method_markers(methods) -> dict:
    """method -> its marker, fixed on every figure like its colour, so that two hues that look
    alike (eq. 3's orange, abs's vermilion) still differ in shape; any other method a spare one."""
    from .penalties import DECORRELATION

    fixed = {"PCA": "X", "standard": "o", "penalty": "s", **dict(zip(DECORRELATION, ("s", "^", "D", "v", "P", "h")))}
    spare = iter(m for m in ("*", "<", ">", "p", "d", "H") if m not in {fixed[k] for k in methods if k in fixed})
    return {m: fixed[m] if m in fixed else next(spare) for m in methods}


def book_style() -> None:
    """The book's figure style; applied on import, idempotent. In a Jupyter kernel figures are
    shown as PNGs at twice their pixel density (sharp on high-resolution screens, same size)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=0.9)
    mpl.rcParams.update({
        "lines.linewidth": 1.8, "lines.markersize": 7, "errorbar.capsize": 3,
        "legend.frameon": False, "legend.fontsize": "small", "axes.titlesize": "medium",
        "figure.dpi": 100, "savefig.bbox": "tight", "image.cmap": "viridis",
    })
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("retina")
    except ImportError:   # no IPython: a script or a test, nothing is shown inline
        pass


def legend_outside(ax_or_fig, **kwargs):
    """A legend beside the plot (right of an Axes, or right of a whole Figure), never on the data.
    constrained_layout (see `figure`) makes room for it."""
    if isinstance(ax_or_fig, mpl.figure.Figure):
        handles, labels = [], []
        for ax in ax_or_fig.axes:   # one entry per label, across the figure's axes
            for handle, label in zip(*ax.get_legend_handles_labels()):
                if label not in labels:
                    handles.append(handle)
                    labels.append(label)
        return ax_or_fig.legend(handles, labels, **{"loc": "outside right upper", **kwargs})
    return ax_or_fig.legend(**{"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0,
                               **kwargs})


def alt_text(caption: str, limit: int = 300) -> str:
    """A figure caption (MyST markdown, with math and roles) as plain alt text: markup dropped,
    TeX commands reduced to their names' words, whitespace collapsed, at most `limit` characters."""
    text = re.sub(r"\{glue[\w:-]*\}`[^`]*`", "", caption)                 # glued values: not in the caption's text
    text = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", text)               # {role}`text` -> text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)               # [text](link) -> text
    text = re.sub(r"\$+|\\[()\[\]]", "", text)                          # math delimiters
    text = re.sub(r"\\(?:mathrm|mathbf|mathcal|text|operatorname)\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\\(times|cdot)\b", lambda m: {"times": "x", "cdot": "*"}[m[1]], text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)                          # \alpha -> alpha
    text = re.sub(r"[*_`{}]", "", text)                                    # emphasis, code, braces
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "\u2026"


book_style()


def image_grid(ax, images: torch.Tensor, nrow: int = 10, title: str | None = None):
    """images (N, 784) in [0, 1] as one grid image."""
    grid = make_grid(images.reshape(-1, 1, 28, 28).clamp(0, 1), nrow=nrow, padding=2, pad_value=0.5)   # grey: white digits stay apart
    ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def image_rows(ax, rows: list[torch.Tensor], title: str | None = None):
    """Rows of images, each (N, 784), one column per image (e.g. noisy / reconstructed /
    original). Values outside [0, 1] (a ReLU or linear output) are clipped for display only."""
    image_grid(ax, torch.cat(rows), nrow=len(rows[0]), title=title)


def reconstruction_grid(ax, originals: torch.Tensor, recon: torch.Tensor, title: str | None = None):
    """Originals (N, 784) above their reconstructions (N, 784)."""
    image_rows(ax, [originals, recon], title=title)


def code_heatmap(ax, codes: np.ndarray | torch.Tensor, title: str = ""):
    """Codes (N, n) of a few images as an N x n picture, each row scaled by its largest |entry|
    (so models of any code scale compare): white = 0, dark = large."""
    codes = np.abs(np.asarray(codes, dtype=float))
    scaled = codes / np.maximum(codes.max(axis=1, keepdims=True), 1e-12)
    image = ax.imshow(scaled, cmap="Greys", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set(title=title, xlabel="code unit", ylabel="image")
    ax.set_yticks([])
    ax.grid(False)                                      # the style's grid lines are not data
    return image


def scatter_codes(ax, points: np.ndarray, labels: np.ndarray, title: str = "", class_names=None,
                  legend: bool = True, axis: str = "code"):
    """2-D points (N, 2) coloured by class, as in the paper's Figure 1; the axes are `axis` 1 and 2
    (a code's dimensions, a t-SNE map's, PCA's components)."""
    names = class_names or [str(c) for c in range(10)]
    colours = sns.color_palette(DIGIT_PALETTE, len(names))
    for c, name in enumerate(names):
        mask = labels == c
        ax.scatter(points[mask, 0], points[mask, 1], s=5, alpha=0.5, linewidths=0, color=colours[c],
                   label=name, rasterized=True)
    ax.set(title=title, xlabel=f"{axis} 1", ylabel=f"{axis} 2")   # the axes stay: the codes' scale is part of the story
    if legend:
        for handle in legend_outside(ax, markerscale=3, title="class").legend_handles:
            handle.set_alpha(1.0)   # the key in full colour, whatever the points' transparency


def correlation_heatmap(ax, corr: np.ndarray, title: str = ""):
    """An (n, n) correlation matrix on a fixed [-1, 1] colour scale."""
    sns.heatmap(corr, ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", square=True, annot=corr.shape[0] <= 8,
                fmt=".2f", annot_kws={"size": 7}, cbar=False)
    ax.set_title(title)


def training_curves(ax, histories: dict[str, list[dict]], key: str = "val_rmse",
                    ylabel: str = "validation RMSE", colors=None, legend: bool = True):
    """Mean over seeds (line) and min..max (band) of a per-epoch history entry, per label; colors:
    one per label (default: the palette's, in order); legend: beside this panel (a row of panels
    with the same labels shows it once, beside its last)."""
    for i, (label, runs) in enumerate(histories.items()):
        values = np.array([run[key] for run in runs], dtype=float)  # (seeds, epochs)
        epochs = np.arange(1, values.shape[1] + 1)
        line, = ax.plot(epochs, values.mean(axis=0), label=label, **({"color": colors[i]} if colors else {}))
        if len(runs) > 1:
            ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), alpha=0.2,
                            color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if legend:
        legend_outside(ax)


def symlog_axis(ax) -> None:
    """A y axis for values of either sign over many decades: symmetric log, linear within +-1,
    a labelled tick every third decade (fewer ticks than decades)."""
    ax.set_yscale("symlog", linthresh=1.0)
    ticks = mpl.ticker.SymmetricalLogLocator(linthresh=1.0, base=1000.0).tick_values(*ax.get_ylim())
    if np.ptp(ax.get_ylim()) > 1e6:                 # +-1 would print on top of 0: keep 0 and the far decades
        ticks = [t for t in ticks if t == 0 or abs(t) >= 1e3]
    ax.yaxis.set_major_locator(mpl.ticker.FixedLocator(ticks))
    ax.yaxis.set_minor_locator(mpl.ticker.NullLocator())


def graded(n: int) -> list:
    """n shades of one hue, light to dark: the levels of one setting (alpha), never mistaken for
    the palette's distinct series (a method)."""
    return sns.color_palette("YlOrBr", n + 2)[2:]


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.0, height: float = 3.5, **kwargs):
    """A figure of nrows x ncols axes, each about width x height inches, laid out by
    constrained_layout (which leaves room for legends beside the axes)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             constrained_layout=True, **kwargs)
    return fig, axes


def code_size_axis(ax, sizes):
    """A log x axis of code sizes, labelled at the sizes themselves (no minor ticks or labels)."""
    ax.set(xscale="log", xlabel="code size n")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()


def by_code_size(ax, table, column: str, methods: list[str], ylabel: str | None = None, legend: bool = True,
                 suffix: dict[str, str] | None = None):
    """One line per method of `column` against code size (log x), from a table with columns
    method, bottleneck and `column`; legend=False leaves the legend to the figure; suffix: method
    -> text after its legend label."""
    colours, markers, suffix = method_colours(methods), method_markers(methods), suffix or {}
    for method in methods:
        part = table[table.method == method].sort_values("bottleneck")
        ax.plot(part.bottleneck, part[column], "-", marker=markers[method], label=label(method) + suffix.get(method, ""),
                color=colours[method])
    code_size_axis(ax, sorted(set(table.bottleneck)))
    ax.set_ylabel(ylabel or column.replace("_", " "))
    if legend:
        legend_outside(ax)


MARKERS = ("o", "s", "^", "D", "v", "P")       # one per series where neither method nor code size names it
SIZE_STYLES = ("-", "--", ":", "-.")            # one line style per code size where colour and marker are the method


def rate_distortion(ax, table, column: str, methods: list[str], suffix: dict[str, str] | None = None):
    """`column` (rmse or psnr) against bits per image: one colour and marker per method (as on
    every figure), one line style per code size (keys "n = ..." in black), from a table with columns
    method, bottleneck, bits_per_image and `column`; suffix: method -> text after its legend label.
    The figure draws the legend."""
    suffix = suffix or {}
    colours, markers = method_colours(methods), method_markers(methods)
    sizes = sorted(set(table.bottleneck), reverse=True)
    style = dict(zip(sizes, SIZE_STYLES * len(sizes)))
    for method in methods:
        for n, part in table[table.method == method].groupby("bottleneck"):
            part = part.sort_values("bits_per_image")
            ax.plot(part.bits_per_image, part[column], style[n], marker=markers[method], markersize=4,
                    color=colours[method], alpha=0.85)
        ax.plot([], [], "-", marker=markers[method], markersize=4, color=colours[method],
                label=label(method) + suffix.get(method, ""))                     # one legend entry per method
    for n in sizes:
        ax.plot([], [], style[n], color="black", label=f"n = {n}")
    ax.set(xscale="log", xlabel="bits per image (n x b)", ylabel="PSNR (dB)" if column == "psnr" else "test RMSE")
    bits = table.bits_per_image
    ticks = [2 ** k for k in range(int(np.floor(np.log2(bits.min()))), int(np.ceil(np.log2(bits.max()))) + 1)]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()


def throughput(ax, bench, peak: float, title: str = ""):
    """A benchmark table (speed.read_bench): GFLOP/s of the batched trainer against the number
    of models trained at once, in one process (a line) and in several (one marker per row,
    at K x workers), the naive and tensor loops and the matmul peak as horizontal lines."""
    batched = bench[(bench.method == "batched") & (bench.workers == 1)]
    ax.plot(batched.k, batched.gflops, "o-", label="batched trainer, one process")
    parallel = bench[(bench.method == "batched") & (bench.workers > 1)]
    for row in parallel.itertuples():
        ax.plot(row.k * row.workers, row.gflops, "s", label=f"{row.workers} processes x K = {row.k}")
    for method, style in (("naive", ":"), ("tensor", "--")):
        ax.axhline(bench[bench.method == method].gflops.item(), linestyle=style, color="grey", label=method)
    ax.axhline(peak, color="black", label="2048x2048 matmul peak")
    ax.set(xscale="log", yscale="log", xlabel="models trained at once", ylabel="GFLOP/s (log scale)", title=title)
    ticks = sorted({*batched.k, *(parallel.k * parallel.workers)})
    ax.set_xticks(ticks, [str(k) for k in ticks])
    legend_outside(ax)


def code_maps(maps: dict, labels, class_names, legend_on_each: bool = True, axes_named="code"):
    """2-D maps of codes side by side (panel title -> (N, 2) points), coloured by class; the class
    legend on each panel, or on the last only; axes_named: what the axes are ("t-SNE"), one for
    all panels or a list."""
    names = [axes_named] * len(maps) if isinstance(axes_named, str) else axes_named
    fig, axes = figure(ncols=len(maps), width=5, height=5)
    for i, (ax, (title, points)) in enumerate(zip(np.atleast_1d(axes), maps.items())):
        scatter_codes(ax, points, labels[: len(points)], title=title, class_names=class_names,
                      legend=legend_on_each or i == len(maps) - 1, axis=names[i])
    return fig


def image_panels(panels: dict, width: float = 8.0, height: float = 1.8):
    """One row of images per panel (title -> list of image rows, each (N, 784); e.g. originals
    above their reconstructions), the panels stacked: the lecture chapters' image figures."""
    fig, axes = figure(nrows=len(panels), width=width, height=height)
    for ax, (title, rows) in zip(np.atleast_1d(axes), panels.items()):
        image_rows(ax, rows, title=title)
    return fig
