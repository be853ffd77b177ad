"""The alpha explorer: the penalty chapter's stage-1 runs as one interactive chart a reader drives
in the static site, offline, with no kernel (a vega-lite spec with its data embedded, drawn by
vega-embed from the site's own _static/vega/).

Why vega-lite (through Altair): the interaction is declarative. A slider, a select and a radio
group are parameters bound to HTML inputs, and every panel is a filter of embedded tables on
them, so the page holds no hand-written drawing code; the browser check drives the same inputs.

The data (`explorer_data`), keyed by (penalty, n, alpha index), the standard loss at index -1:
  runs:   one row per run: seed, validation and test RMSE, mean |correlation|, code scale, runaway epoch;
  lines:  the text the numbers panel shows for each setting (`summary`, means over seeds);
  curves: validation RMSE per epoch and run;
  corr:   the code correlation matrix of the first seed's run, one row per entry;
  images: ten test digits reconstructed by the first seed's run (and the originals), PNG data URIs.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from .. import pages


STANDARD_INDEX = -1     # the standard loss has no alpha: it is drawn beside every one
SETTINGS = ("A", "B")   # two settings side by side
WIDTH = 260             # pixels per panel: two columns fit the page with its margin (the cell is tagged full-width)
ALT_TEXT = ("An interactive chart of two settings side by side, each chosen with a loss menu, a code size "
            "and alpha buttons under it: the mean validation and test RMSE against the standard loss, "
            "the mean correlation, code scale and runaway runs as text; RMSE per seed; validation RMSE per "
            "epoch; the first seed's code correlation matrix; ten test digits and their reconstructions.")


def _key(run: dict, alphas: list[float]) -> dict:
    """The (penalty, n, alpha index) a run belongs to in the explorer."""
    cfg = run["config"]
    standard = cfg["penalty"] == "none"
    return {"penalty": "standard" if standard else cfg["penalty"], "n": cfg["bottleneck"],
            "alpha_index": STANDARD_INDEX if standard else alphas.index(cfg["alpha"]),
            "alpha": 0.0 if standard else cfg["alpha"]}


def png_uri(images: np.ndarray) -> str:
    """Images (k, 784) in 0..1 as one PNG strip (28 x 28k), a data URI."""
    import matplotlib.image

    strip = np.concatenate(np.asarray(images, dtype=np.float32).reshape(-1, 28, 28), axis=1)   # (28, 28k)
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, strip, cmap="gray", vmin=0, vmax=1, format="png")
    return pages.data_uri(buffer.getvalue(), "image/png")


def page_runs(runs: list[dict], test) -> list[dict]:
    """Runs in the record's shape (record.as_run: row, correlation, ten reconstructions): recorded
    runs as they are, cached ones (weights at hand) made so by record.run_records."""
    from .. import record

    from ..config import RunConfig

    by_arch = {}
    for run in runs:
        if "row" not in run:
            by_arch.setdefault(RunConfig.from_dict(run["config"]).architecture, []).append(run)
    made = {content["key"]: record.as_run(content) for group in by_arch.values()
            for content in record.run_records(group, test.images, test.labels, "local")}
    return [run if "row" in run else made[run["key"]] for run in runs]


def explorer_data(runs: list[dict], alphas: list[float], originals: np.ndarray, every: int = 1) -> dict[str, pd.DataFrame]:
    """The explorer's tables (module docstring) from runs in the record's shape; originals: the
    ten test digits (10, 784); `every`: keep every k-th epoch of the curves, the first and the last (the page stays light)."""
    rows, curves, corr, images = [], [], [], [{"penalty": "original", "n": 0, "alpha_index": 0, "row": 0,
                                               "url": png_uri(originals)}]
    first_seed = min(run["config"]["seed"] for run in runs)
    for run in runs:
        key, row = _key(run, alphas), run["row"]
        cell = {name: key[name] for name in ("penalty", "n", "alpha_index")}     # what the charts filter on
        rows.append({**key, "seed": row["seed"], "val_rmse": row["val_rmse"], "test_rmse": row["test_rmse"],
                     "corr_mean": row["corr_mean"], "code_std_mean": row["code_std_mean"],
                     "runaway": bool(row["runaway"]), "runaway_epoch": int(row["runaway_epoch"])})
        val = run["history"]["val_rmse"]                                            # (epochs,)
        curves += [{**cell, "seed": row["seed"], "epoch": e + 1, "val_rmse": float(f"{v:.5g}")}   # 5 digits: a light page
                   for e, v in enumerate(val) if (e + 1) % every == 0 or e == 0 or e + 1 == len(val)]
        if row["seed"] != first_seed:
            continue
        matrix = run["correlation"]                                                 # (n, n)
        corr += [{**cell, "i": i + 1, "j": j + 1, "value": round(float(matrix[i, j]), 3)}
                 for i in range(len(matrix)) for j in range(len(matrix))]
        images.append({**cell, "row": 1, "url": png_uri(run["reconstructions"])})
    table = pd.DataFrame(rows)
    return {"runs": table, "lines": lines(summary(table)), "curves": pd.DataFrame(curves),
            "corr": pd.DataFrame(corr), "images": pd.DataFrame(images)}


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (penalty, n, alpha index): the means over seeds, how many runs ran away (and when), and
    the standard loss's means at that n: what the numbers panel shows."""
    epochs = runs[runs.runaway].groupby(["penalty", "n", "alpha_index"]).runaway_epoch.agg(
        lambda e: ", ".join(str(int(x) + 1) for x in sorted(e)))
    table = (runs.groupby(["penalty", "n", "alpha_index", "alpha"])
             .agg(val_rmse=("val_rmse", "mean"), test_rmse=("test_rmse", "mean"), corr_mean=("corr_mean", "mean"),
                  code_std_mean=("code_std_mean", "mean"), n_runaway=("runaway", "sum"), n_seeds=("seed", "nunique"))
             .reset_index())
    standard = table[table.penalty == "standard"].set_index("n")
    keys = list(zip(table.penalty, table.n, table.alpha_index))
    return table.assign(standard_test_rmse=table.n.map(standard.test_rmse),
                        standard_val_rmse=table.n.map(standard.val_rmse),
                        runaway_epochs=[epochs.get(k, "") for k in keys])


def lines(table: pd.DataFrame) -> pd.DataFrame:
    """The numbers panel's text, one row per line and setting (a summary)."""
    rows = []
    for r in table.itertuples():
        beside = r.penalty != "standard"                               # the standard loss is not compared with itself
        text = [("standard loss (no penalty)" if not beside else f"{r.penalty}, alpha = {r.alpha:g}")
                + f", n = {r.n}, {r.n_seeds} seeds",
                f"validation RMSE {r.val_rmse:.4f}" + (f" (standard {r.standard_val_rmse:.4f})" if beside else ""),
                f"test RMSE {r.test_rmse:.4f}" + (f" (standard {r.standard_test_rmse:.4f})" if beside else ""),
                (f"mean |correlation| {r.corr_mean:.3f}" if np.isfinite(r.corr_mean) else "mean |correlation|: "
                 "none (non-finite codes)") + f", code std {r.code_std_mean:.3g}",
                f"ran away: {int(r.n_runaway)} of {r.n_seeds} runs"
                + (f" (from epoch {r.runaway_epochs})" if r.n_runaway else "")]
        rows += [{"penalty": r.penalty, "n": r.n, "alpha_index": r.alpha_index, "line": i, "text": t}
                 for i, t in enumerate(text)]
    return pd.DataFrame(rows)


def _panel(data: dict, tag: str):
    """One setting's column: its numbers, RMSE per seed, training curves, code correlation and
    reconstructions, each a filter of the embedded tables on the setting's three inputs."""
    import altair as alt

    cell = (f"datum.penalty == penalty_{tag} && datum.n == n_{tag} && "
            f"(datum.penalty == 'standard' || datum.alpha_index == alpha_{tag})")
    standard = f"datum.penalty == 'standard' && datum.n == n_{tag}"
    bare = {"stroke": None}                                                  # no frame around text and images
    text = alt.Chart(data["lines"], title=f"Setting {tag}").mark_text(align="left", baseline="top", fontSize=12).encode(
        x=alt.value(0), y=alt.Y("line:O", axis=None), text="text:N").transform_filter(cell).properties(
        width=WIDTH, height=85, view=bare)
    seeds = alt.Chart(data["runs"]).transform_filter(cell).transform_fold(
        ["val_rmse", "test_rmse"], as_=["column", "rmse"]).transform_calculate(
        split="datum.column == 'val_rmse' ? 'validation' : 'test'").mark_point(filled=True, size=60).encode(
        x=alt.X("seed:O"), y=alt.Y("rmse:Q", scale=alt.Scale(zero=False), title="RMSE"),
        color=alt.Color("split:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["validation", "test"], range=["#0173B2", "#DE8F05"])),
        tooltip=["seed:O", "split:N", alt.Tooltip("rmse:Q", format=".4f")])
    rule = alt.Chart(data["runs"]).transform_filter(standard).mark_rule(strokeDash=[4, 3], color="gray").encode(
        y="mean(test_rmse):Q")
    curves = alt.Chart(data["curves"]).transform_filter(cell).mark_line(color="#0173B2").encode(
        x=alt.X("epoch:Q"), y=alt.Y("val_rmse:Q", title="validation RMSE (log scale)", scale=alt.Scale(type="log", nice=False)),
        detail="seed:N")
    standard_curves = alt.Chart(data["curves"]).transform_filter(standard).mark_line(
        strokeDash=[4, 3], color="gray").encode(x="epoch:Q", y="val_rmse:Q", detail="seed:N")
    heat = alt.Chart(data["corr"], title="code correlation, first seed").transform_filter(cell).mark_rect().encode(
        x=alt.X("i:O", title="code dimension"), y=alt.Y("j:O", title="code dimension"),
        color=alt.Color("value:Q", title="corr", scale=alt.Scale(domain=[-1, 1], scheme="redblue", reverse=True)),
        tooltip=[alt.Tooltip("value:Q", format=".2f")]).properties(width=150, height=150)
    images = alt.Chart(data["images"], title="ten test digits: originals, then reconstructed (first seed)").transform_filter(
        f"datum.penalty == 'original' || ({cell})").mark_image(width=WIDTH, height=WIDTH / 10, align="left").encode(
        url="url:N", x=alt.value(0), y=alt.Y("row:O", axis=None)).properties(width=WIDTH, height=2 * WIDTH / 10 + 16, view=bare)
    return alt.vconcat(
        text, (seeds + rule).properties(width=WIDTH, height=140, title="RMSE per seed (dashed: standard, test mean)"),
        (standard_curves + curves).properties(width=WIDTH, height=140, title="validation RMSE per epoch (dashed: standard)"),
        heat, images, spacing=18).resolve_scale(color="independent")


def chart(data: dict, alphas: list[float], penalties: list[str], sizes: list[int]) -> dict:
    """The vega-lite spec (a dict) of the two settings side by side, with their inputs: a loss
    (each penalty and the standard loss), a code size and alpha (buttons labelled with the grid's
    alphas; the value is the step of the grid, which the tables are keyed by)."""
    import altair as alt

    params = []
    for tag, penalty in zip(SETTINGS, [penalties[0], "standard"]):
        params += [alt.param(name=f"penalty_{tag}", value=penalty,
                             bind=alt.binding_select(options=penalties + ["standard"], name=f"{tag}: loss ")),
                   alt.param(name=f"n_{tag}", value=sizes[0], bind=alt.binding_radio(options=sizes, name=f"{tag}: code size n ")),
                   alt.param(name=f"alpha_{tag}", value=alphas.index(min(alphas, key=lambda a: abs(a - 0.001))),
                             bind=alt.binding_radio(options=list(range(len(alphas))), labels=[f"{a:g}" for a in alphas],
                                                    name=f"{tag}: alpha "))]     # a step of the grid, shown as its alpha
    spec = alt.hconcat(*[_panel(data, tag) for tag in SETTINGS], spacing=30).add_params(*params).properties(
        description="The alpha explorer: two settings of the penalty chapter's stage-1 runs side by side.")
    with alt.data_transformers.disable_max_rows():      # the paper's curves are ~15k rows, embedded once
        return spec.to_dict()


DRIVER = """
(function () {
  var spec = JSON.parse(document.getElementById("alpha-explorer-spec").textContent);
  vegaEmbed("#alpha-explorer", spec, {renderer: "svg", actions: false}).then(function () {
    // explorer.html#penalty_A=squared&n_A=4&alpha_A=2 moves the inputs as a reader would
    new URLSearchParams(window.location.hash.slice(1)).forEach(function (value, name) {
      document.querySelectorAll('#alpha-explorer [name="' + name + '"]').forEach(function (input) {
        if (input.type === "radio" && input.value !== value) { return; }
        if (input.type === "radio") { input.checked = true; } else { input.value = value; }
        ["input", "change"].forEach(function (kind) { input.dispatchEvent(new Event(kind, {bubbles: true})); });
      });
    });
    document.getElementById("alpha-explorer").setAttribute("data-ready", "1");
  });
})();
"""


def html(spec: dict, alt_text: str) -> str:
    """The page's HTML: the chart's container (alt text as its label), vega from the site's
    _static/vega/, the spec as JSON, and the few lines that embed it and read the URL's settings."""
    scripts = "".join(f'<script src="../_static/vega/{name}.min.js"></script>' for name in ("vega", "vega-lite", "vega-embed"))
    data = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    style = "<style>.aeb-explorer .vega-bind-radio label{margin:0 .8em 0 .2em}</style>"     # room between the buttons
    return (f'{style}<div id="alpha-explorer" class="aeb-explorer" role="figure" aria-label="{alt_text}"></div>{scripts}'
            f'<script type="application/json" id="alpha-explorer-spec">{data}</script><script>{DRIVER}</script>')
