"""What each chapter trains: its grids of runs, and the penalty chapter's two-stage selection.

A chapter's notebook asks for its runs here (trained where missing, through the run cache) and
turns them into tables with `report`. Stage 1 chooses each penalty's alpha on the validation
RMSE of the profile `seeds`; stage 2 trains the `variant_seeds` at the chosen alphas.
"""
from __future__ import annotations

from . import report
from .cache import get_runs
from .config import DECORRELATION_PENALTIES, Profile, RunConfig


def penalty_grid(profile: Profile, bottleneck: int, seeds, penalties, alphas, **fields) -> list[RunConfig]:
    """For one code size: every seed x (the standard loss + every penalty at every alpha).
    `fields` overrides RunConfig fields (e.g. code_activation)."""
    common = dict(bottleneck=bottleneck, **profile.run_fields(), **fields)
    runs = []
    for seed in seeds:
        runs.append(RunConfig(seed=seed, **common))
        runs += [RunConfig(seed=seed, penalty=p, alpha=a, **common) for p in penalties for a in alphas]
    return runs


def decorrelation_grid(profile: Profile, bottleneck: int, **fields) -> list[RunConfig]:
    """The paper's runs: the profile seeds x (standard + eq. 3 at each of the profile alphas).
    Alpha is chosen afterwards on validation from these same runs (report.alpha_selection)."""
    return penalty_grid(profile, bottleneck, profile.seeds, ("signed",), profile.alphas, **fields)


def variant_selection_grid(profile: Profile, bottleneck: int, **fields) -> list[RunConfig]:
    """The penalty chapter, stage 1: the profile seeds x (standard + every decorrelation penalty
    at every variant alpha), on whose validation RMSE each penalty's alpha is chosen. Its
    standard and signed runs are shared with decorrelation_grid's."""
    return penalty_grid(profile, bottleneck, profile.seeds, DECORRELATION_PENALTIES,
                        profile.variant_alphas, **fields)


def variant_grid(profile: Profile, bottleneck: int, selected: dict[str, float], **fields) -> list[RunConfig]:
    """The penalty chapter, stage 2: the variant seeds x (standard + each penalty of `selected`
    at its alpha, the one stage 1 chose). Seeds shared with stage 1 reuse its runs."""
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


def variant_runs(settings, bottleneck: int, device: str | None = None, **fields) -> tuple[list[dict], list[dict]]:
    """The penalty chapter's runs at one code size, trained first where missing, in two stages:
    the selection runs (variant_selection_grid: the profile seeds at every variant alpha)
    and the table runs (variant_grid: the variant seeds at the alphas those select)."""
    selection_runs = get_runs(variant_selection_grid(settings, bottleneck, **fields), device=device)
    chosen = report.alpha_selection(report.runs_frame(selection_runs)).query("selected")
    alphas = dict(zip(chosen.penalty, chosen.alpha))
    selected = {penalty: float(alphas[penalty]) for penalty in DECORRELATION_PENALTIES}   # in chapter order
    return selection_runs, get_runs(variant_grid(settings, bottleneck, selected, **fields), device=device)


def penalty_models(settings, device: str | None = None) -> dict[tuple[int, str], list[dict]]:
    """selected_models of the penalty chapter's table runs (variant_runs) at every code size of
    the profile: the standard loss and each penalty at its selected alpha, over the variant seeds."""
    return report.selected_models([run for n in settings.bottlenecks for run in variant_runs(settings, n, device)[1]])
