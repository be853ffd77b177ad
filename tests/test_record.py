"""The committed paper tables are auditable: each table under results/paper/ is what the protocol
makes of the runs listed in results/paper/runs.csv (one row per run, written with the pages that
`make pages` executes from the record). A chapter whose pages the record does not complete yet
has no rows there, and its test is skipped, saying so."""
import numpy as np
import pandas as pd
import pytest

from aebottleneck.chapters import decorrelation, penalty_variants
from aebottleneck import stats
from aebottleneck.config import load_profile, project_root

PAPER = project_root() / "results" / "paper"


@pytest.fixture(scope="module")
def runs():
    path = PAPER / "runs.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not committed yet: no page of the paper profile is made from the record")
    runs = pd.read_csv(path)
    return runs.assign(method=np.where(runs.penalty == "none", "standard", "penalty"))


def chapter_rows(runs, chapter):
    rows = runs[runs.chapter == chapter]
    if rows.empty:
        pytest.skip(f"results/paper/runs.csv has no {chapter} runs yet: the record does not complete its page")
    return rows


def test_table1_is_the_protocol_applied_to_the_decorrelation_runs(runs):
    chapter_rows(runs, "decorrelation")
    expected = decorrelation.table1(runs[runs.chapter == "decorrelation"])
    pd.testing.assert_frame_equal(pd.read_csv(PAPER / "table1.csv"), expected, check_dtype=False, rtol=1e-9)


def test_penalty_table_is_alpha_chosen_on_the_selection_seeds_then_tested_on_the_others(runs):
    settings = load_profile("paper")
    ours = chapter_rows(runs, "penalty_variants")
    chosen = stats.alpha_selection(ours[ours.seed.isin(settings.selection_seeds)]).query("selected")
    tested = ours[ours.seed.isin(settings.variant_seeds)]
    for row in chosen.itertuples():
        at = tested[(tested.bottleneck == row.bottleneck) & (tested.penalty == row.penalty)]
        assert set(at.alpha) == {row.alpha}, row                    # tested only at the alpha stage 1 chose
    expected = penalty_variants.variant_table(tested)
    committed = pd.read_csv(PAPER / "penalty_variants.csv")
    pd.testing.assert_frame_equal(committed, expected, check_dtype=False, rtol=1e-9)
