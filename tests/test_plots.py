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
    students = plots.method_colours(["PCA", "standard", "a", "b", "c", "d"])           # four spare hues
    assert everything["signed"] in students.values() and everything["abs"] not in students.values()   # not both


def test_a_method_keeps_its_marker_and_no_two_methods_of_a_figure_share_one():
    everything = plots.method_markers(["PCA", "standard", *DECORRELATION, "linear AE", "nonlinear AE"])
    assert len(set(everything.values())) == len(everything)
    assert everything["signed"] != everything["abs"]                   # orange and vermilion differ in shape too
    few = plots.method_markers(["abs", "a student model"])
    assert few["abs"] == everything["abs"] and few["a student model"] != few["abs"]
    assert plots.method_markers(["penalty"])["penalty"] == everything["signed"]


def test_the_papers_penalty_is_named_one_way():
    assert plots.label("signed") == plots.label("penalty") == "signed (eq. 3)" and plots.label("abs") == "abs"


def test_a_symlog_axis_over_many_decades_prints_no_tick_on_top_of_zero():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [-1e18, 5.0])
    plots.symlog_axis(ax)
    ticks = list(ax.get_yticks())
    plt.close(fig)
    assert 0 in ticks and -1e18 in ticks and not {1.0, -1.0} & set(ticks)


def test_a_row_of_training_curves_can_leave_its_legend_to_its_last_panel():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(ncols=2)
    runs = [{"val_rmse": [0.3, 0.2]}, {"val_rmse": [0.4, 0.25]}]
    plots.training_curves(axes[0], {"a": runs}, legend=False)
    plots.training_curves(axes[1], {"a": runs})
    assert axes[0].get_legend() is None and axes[1].get_legend() is not None
    plt.close(fig)
