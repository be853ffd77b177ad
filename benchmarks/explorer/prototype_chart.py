import json, sys
import altair as alt
import pandas as pd

def labels(summary: pd.DataFrame) -> pd.DataFrame:
    """One row of text per line the numbers panel shows, per (penalty, n, alpha_index)."""
    rows = []
    for r in summary.itertuples():
        lines = [f"alpha = {r.alpha:g}" if r.penalty != "standard" else "standard loss (no penalty)",
                 f"validation RMSE {r.val_rmse:.4f} (standard {r.standard_val_rmse:.4f}), mean of {r.n_seeds} seeds",
                 f"test RMSE {r.test_rmse:.4f} (standard {r.standard_test_rmse:.4f})",
                 f"mean |correlation| {r.corr_mean:.3f}, code std {r.code_std_mean:.3g}",
                 f"ran away: {int(r.n_runaway)} of {r.n_seeds} runs" + (f" (epochs {r.runaway_epochs})" if r.n_runaway else "")]
        rows += [{"penalty": r.penalty, "n": r.n, "alpha_index": r.alpha_index, "line": i, "text": t} for i, t in enumerate(lines)]
    return pd.DataFrame(rows)

def panel(data, summary_lines, alphas, penalties, sizes, tag):
    p = alt.param(name=f"penalty_{tag}", value=penalties[1] if len(penalties) > 1 else penalties[0],
                  bind=alt.binding_select(options=penalties, name=f"{tag}: loss "))
    n = alt.param(name=f"n_{tag}", value=sizes[0], bind=alt.binding_radio(options=sizes, name=" n "))
    a = alt.param(name=f"alpha_{tag}", value=0, bind=alt.binding_range(min=0, max=len(alphas) - 1, step=1, name=" alpha index "))
    cell = (f"datum.penalty == penalty_{tag} && datum.n == n_{tag} && "
            f"(datum.penalty == 'standard' || datum.alpha_index == alpha_{tag})")
    standard = f"datum.penalty == 'standard' && datum.n == n_{tag}"
    text = alt.Chart(summary_lines).mark_text(align="left", baseline="top", fontSize=12).encode(
        y=alt.Y("line:O", axis=None), text="text:N").transform_filter(cell).properties(width=330, height=90,
        title=f"Setting {tag}")
    seeds = alt.Chart(data["runs"]).transform_fold(["val_rmse", "test_rmse"], as_=["split", "rmse"]).mark_point(filled=True, size=60).encode(
        x=alt.X("seed:O"), y=alt.Y("rmse:Q", scale=alt.Scale(zero=False), title="RMSE"), color=alt.Color("split:N", title=None),
        tooltip=["seed:O", "split:N", alt.Tooltip("rmse:Q", format=".4f"), "runaway_epoch:Q"]).transform_filter(cell)
    std_rule = alt.Chart(data["runs"]).mark_rule(strokeDash=[4, 3], color="gray").encode(
        y="mean(test_rmse):Q").transform_filter(standard)
    curves = alt.Chart(data["curves"]).mark_line().encode(
        x=alt.X("epoch:Q"), y=alt.Y("val_rmse:Q", title="validation RMSE", scale=alt.Scale(zero=False, type="log")),
        detail="seed:N", color=alt.value("#0072B2")).transform_filter(cell)
    std_curves = alt.Chart(data["curves"]).mark_line(strokeDash=[4, 3], color="gray").encode(
        x="epoch:Q", y="val_rmse:Q", detail="seed:N").transform_filter(standard)
    heat = alt.Chart(data["corr"]).mark_rect().encode(
        x=alt.X("i:O", title="code unit"), y=alt.Y("j:O", title="code unit"),
        color=alt.Color("value:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue", reverse=True), title="corr"),
        tooltip=[alt.Tooltip("value:Q", format=".2f")]).transform_filter(cell).properties(width=160, height=160,
        title="code correlation (first seed)")
    images = alt.Chart(data["images"]).mark_image(width=330, height=33).encode(
        url="url:N", y=alt.Y("row:O", axis=None)).transform_filter(f"datum.penalty == 'original' || ({cell})").transform_calculate(
        row="datum.penalty == 'original' ? 0 : 1").properties(width=340, height=80, title="ten test digits: originals, reconstructions (first seed)")
    return alt.vconcat(text, (seeds + std_rule).properties(width=330, height=150, title="RMSE per seed (dashed: standard test mean)"),
                       (std_curves + curves).properties(width=330, height=150, title="validation RMSE per epoch (dashed: standard)"),
                       heat, images).add_params(p, n, a)

if __name__ == "__main__":
    data = {k: pd.read_json(f"/tmp/expl/{k}.json") for k in ("runs", "curves", "corr", "images", "lines")}
    meta = json.load(open("/tmp/expl/meta.json"))
    lines = data.pop("lines")
    chart = alt.hconcat(panel(data, lines, meta["alphas"], meta["penalties"], meta["sizes"], "A"),
                        panel(data, lines, meta["alphas"], meta["penalties"], meta["sizes"], "B"))
    spec = chart.to_dict()
    text = json.dumps(spec)
    print(len(text), list(spec.get("datasets", {}).keys())[:8])
    open("/tmp/expl/spec.json", "w").write(text)
