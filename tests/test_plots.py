"""The book's figure conventions: a method keeps its colour and name from figure to figure."""
from aebottleneck import plots
from aebottleneck.penalties import DECORRELATION


def test_a_method_has_one_colour_on_every_figure_and_a_figure_no_colour_twice():
    everything = plots.method_colours(["PCA", "standard", *DECORRELATION, "linear AE", "nonlinear AE"])
    assert len(set(everything.values())) == len(everything)
    few = plots.method_colours(["standard", "abs", "a student model"])
    assert few["standard"] == everything["standard"] and few["abs"] == everything["abs"]
    assert few["a student model"] not in (few["standard"], few["abs"])
    assert plots.method_colours(["penalty"])["penalty"] == everything["signed"]    # the decorrelation page's eq. 3


def test_the_papers_penalty_is_named_one_way():
    assert plots.label("signed") == plots.label("penalty") == "signed (eq. 3)" and plots.label("abs") == "abs"
