"""The alpha explorer (aebottleneck.chapters.explorer): each run lands in its (penalty, n, alpha index) cell
with its record's own numbers, arrays and curves; the numbers panel says what the runs say; the
chart binds the inputs the page's browser check moves, with its data and scripts in the page."""
import json

import numpy as np
import pytest

from aebottleneck.chapters import explorer
from aebottleneck import runtable
from aebottleneck.cache import get_runs
from aebottleneck.data import first_of_each_class, load_splits
from conftest import small_config

ALPHAS = [0.01, 0.1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("AEB_RESULTS_DIR", str(tmp_path_factory.mktemp("results")))
    configs = [small_config(bottleneck=2, seed=s, **fields) for s in (0, 1)
               for fields in (dict(), dict(penalty="squared", alpha=0.1), dict(penalty="signed", alpha=0.01))]
    test = load_splits("mnist").test
    yield explorer.page_runs(get_runs(configs, progress=False), test), test
    patch.undo()


@pytest.fixture(scope="module")
def data(runs):
    runs, test = runs
    return explorer.explorer_data(runs, ALPHAS, test.images[first_of_each_class(test.labels, 1)].numpy())


def test_every_run_lands_in_its_cell_with_its_own_numbers(runs, data):
    runs, _ = runs
    table = data["runs"].set_index(["penalty", "alpha_index", "seed"])
    assert len(table) == 6 and table.loc[("standard", explorer.STANDARD_INDEX, 1), "alpha"] == 0.0
    squared = next(r for r in runs if r["config"]["penalty"] == "squared" and r["config"]["seed"] == 1)
    assert table.loc[("squared", 1, 1), "test_rmse"] == squared["row"]["test_rmse"]
    assert len(data["curves"]) == 6 * squared["config"]["epochs"]
    assert set(data["images"].penalty) == {"original", "standard", "squared", "signed"} and len(data["images"]) == 4
    assert data["images"].url.str.startswith("data:image/png;base64,").all()
    assert len(data["corr"]) == 3 * 2 * 2 and np.allclose(data["corr"].query("i == j").value, 1.0)


def test_a_cached_run_gets_the_rows_its_record_would_hold(runs):
    runs, _ = runs
    assert all(set(r) >= {"row", "correlation", "reconstructions"} for r in runs)
    assert [r["row"]["val_rmse"] for r in runs] == list(runtable.runs_frame(runs).val_rmse)


def test_the_numbers_panel_says_the_means_over_seeds_beside_the_standard_loss(data):
    table = explorer.summary(data["runs"]).set_index(["penalty", "n"])
    standard = table.loc[("standard", 2)]
    assert table.loc[("squared", 2), "standard_test_rmse"] == standard.test_rmse
    assert table.loc[("signed", 2), "n_seeds"] == 2
    text = data["lines"].query("penalty == 'squared'").sort_values("line").text.tolist()
    mean = data["runs"].query("penalty == 'squared'").test_rmse.mean()
    assert text[0].startswith("squared, alpha = 0.1, n = 2, 2 seeds")
    assert text[2] == f"test RMSE {mean:.4f} (standard {standard.test_rmse:.4f})"
    own = data["lines"].query("penalty == 'standard'").sort_values("line").text.tolist()
    assert own[2] == f"test RMSE {standard.test_rmse:.4f}"                  # not beside itself


def test_the_chart_binds_three_inputs_per_setting_and_embeds_its_data(data):
    spec = explorer.chart(data, ALPHAS, ["signed", "squared"], [2])
    names = {p["name"] for p in spec["params"]}
    assert names == {f"{kind}_{tag}" for kind in ("penalty", "n", "alpha") for tag in "AB"}
    assert {p["bind"]["input"] for p in spec["params"]} == {"select", "radio"}
    alpha = next(p for p in spec["params"] if p["name"] == "alpha_A")["bind"]
    assert alpha["options"] == [0, 1] and alpha["labels"] == ["0.01", "0.1"]      # the step, shown as its alpha
    page = explorer.html(spec, "alt text")
    assert 'aria-label="alt text"' in page and "../_static/vega/vega-embed.min.js" in page
    embedded = page.split('id="alpha-explorer-spec">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded.replace("<\\/", "</")) == json.loads(json.dumps(spec))
    assert "NaN" not in embedded


def test_a_paper_sized_record_is_embedded_whole(data):
    """The paper's stage 1 draws ~15k curve points, above Altair's 5000-row guard: all are embedded."""
    curves = data["curves"]
    many = curves.loc[curves.index.repeat(6000 // len(curves) + 1)].reset_index(drop=True)    # > 5000 rows
    spec = explorer.chart({**data, "curves": many}, ALPHAS, ["signed", "squared"], [2])
    assert sorted(map(len, spec["datasets"].values()))[-1] == len(many)


def test_a_png_strip_holds_the_ten_digits():
    import base64
    import io

    import matplotlib.image

    uri = explorer.png_uri(np.ones((10, 784)))
    image = matplotlib.image.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")
    assert image.shape[:2] == (28, 280)
