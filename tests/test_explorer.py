"""The alpha explorer's tables (aebottleneck.explorer) from run records: each run lands in its
(penalty, n, alpha index) cell with the record's own numbers, arrays and curves."""
import numpy as np
import pytest

from aebottleneck import explorer, record
from aebottleneck.cache import get_runs
from aebottleneck.data import load_splits
from conftest import small_config

ALPHAS = [0.01, 0.1]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("AEB_RESULTS_DIR", str(tmp_path_factory.mktemp("results")))
    configs = [small_config(bottleneck=2, seed=s, **fields) for s in (0, 1)
               for fields in (dict(), dict(penalty="squared", alpha=0.1), dict(penalty="signed", alpha=0.01))]
    test = load_splits("mnist").test
    yield record.run_records(get_runs(configs, progress=False), test.images, test.labels, "env")
    patch.undo()


def test_every_run_lands_in_its_cell_with_its_own_numbers(records):
    data = explorer.explorer_data(records, ALPHAS)
    runs = data["runs"].set_index(["penalty", "alpha_index", "seed"])
    assert len(runs) == 6 and runs.loc[("standard", explorer.STANDARD_INDEX, 1), "alpha"] == 0.0
    squared = next(c for c in records if c["config"]["penalty"] == "squared" and c["config"]["seed"] == 1)
    assert runs.loc[("squared", 1, 1), "test_rmse"] == squared["row"]["test_rmse"]
    assert len(data["curves"]) == 6 * squared["config"]["epochs"]
    assert set(data["images"].penalty) == {"standard", "squared", "signed"} and len(data["images"]) == 3   # first seed only
    assert data["images"].url.str.startswith("data:image/png;base64,").all()
    assert len(data["corr"]) == 3 * 2 * 2 and np.allclose(data["corr"].query("i == j").value, 1.0)


def test_the_summary_sets_each_cell_beside_the_standard_loss(records):
    table = explorer.summary(explorer.explorer_data(records, ALPHAS)["runs"]).set_index(["penalty", "n"])
    standard = table.loc[("standard", 2)]
    assert table.loc[("squared", 2), "standard_test_rmse"] == standard.test_rmse
    assert table.loc[("signed", 2), "n_seeds"] == 2


def test_a_png_strip_holds_the_ten_digits():
    import base64
    import io

    import matplotlib.image

    uri = explorer.png_uri(np.full((10, 784), 255, dtype=np.uint8))
    image = matplotlib.image.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")
    assert image.shape[:2] == (28, 280)
