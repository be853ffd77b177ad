"""What the book needs trained, in one place, and `make record`, which trains it into the record.

Each step of STEPS names the runs one chapter (or one stage of it) trains, as a function of the
profile and of the record so far: the penalty chapter's stage 2 follows its stage 1, and is not
planned until stage 1 is complete. `make record` (python -m aebottleneck.plan) trains what the
record lacks, in the order of STEPS, in pieces that each fit the time left, records each run as
soon as its piece is trained (record.run_records, while the weights are at hand), stops before a
piece would overrun the budget, and prints what is left.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from tqdm import tqdm

from . import record
from .chapters import PAGES, with_readme_table, with_table
from .config import TRAIN_SIZE, ConfigError, Profile, RunConfig, load_profile

PIECE_RUNS = 16                # runs trained (and recorded) at once: 100 epochs of 16 take ~13 min on 2 cores, so a piece fits the tail of a session
SECONDS_PER_MODEL_EPOCH = {"cpu": 0.45, "cuda": 0.02}   # first guess (2-core Intel, H100); then measured
SAFETY = 1.15                  # a piece starts only if 1.15 x its estimate fits in the time left
# A run-epoch's cost against the MLP's, per architecture: the convolutional AE took 1.73 s per
# run-epoch against the MLP's 0.22 in the same CI run (quick profile, plug and play, 2-core Intel);
# without it a conv piece would be started on an MLP estimate 8x too short and overrun the budget.
ARCH_COST = {"mlp": 1.0, "conv": 8.0}


@dataclass(frozen=True)
class Step:
    """One chapter's (or stage's) runs: `runs(profile, rows)` -> configs, or None while a step it
    follows is incomplete; rows are the record's runs (runtable.runs_frame rows) by key."""

    chapter: str
    runs: Callable[[Profile, dict], list[RunConfig] | None]
    reason: str                                   # one line: why the book needs these runs
    evaluations: tuple[str, ...] = ()             # evaluations.REGISTRY names its pages read of these runs


def _decorrelation(settings, rows):
    from .chapters.decorrelation import decorrelation_grid
    return [c for n in settings.bottlenecks for c in decorrelation_grid(settings, n)]


def _fashion(settings, rows):
    return _decorrelation(dataclasses.replace(settings, dataset="fashion_mnist"), rows)


def _selection(settings, rows):
    from .chapters.penalty_variants import variant_selection_grid
    return [c for n in settings.bottlenecks for c in variant_selection_grid(settings, n)]


def _linear_code(settings, rows):
    from .chapters.penalty_variants import linear_code_grid
    return [c for n in settings.bottlenecks for c in linear_code_grid(settings, n)]


def _selected(settings, rows) -> dict[int, dict[str, float]] | None:
    """n -> penalty -> the alpha stage 1 selected, from the record's stage-1 rows; None until
    every stage-1 run is recorded."""
    import pandas as pd

    from .chapters.penalty_variants import selected_alphas

    stage1 = _selection(settings, rows)
    if any(c.key() not in rows for c in stage1):
        return None
    return selected_alphas(pd.DataFrame([rows[c.key()] for c in stage1]))


def _variants(settings, rows):
    """Stage 2: the variant seeds at the alphas stage 1 selected."""
    from .chapters.penalty_variants import variant_grid

    selected = _selected(settings, rows)
    return None if selected is None else [c for n in settings.bottlenecks for c in variant_grid(settings, n, selected[n])]


def _linear_penalties(settings, rows):
    from .chapters.confounds import linear_code_penalty_grid

    selected = _selected(settings, rows)
    return None if selected is None else linear_code_penalty_grid(settings, selected)


def _plug_and_play(settings, rows):
    from .chapters.confounds import plug_and_play_grid

    selected = _selected(settings, rows)
    return None if selected is None else [c for grid in plug_and_play_grid(settings, selected).values() for c in grid]


def _student(settings, rows):
    from .chapters.activations_losses import STUDENT_MODELS
    return [RunConfig(seed=s, **fields, **settings.run_fields()) for fields in STUDENT_MODELS.values()
            for s in settings.seeds]


def _pca_vs_ae(settings, rows):
    """The lecture notes' PCA chapter at its own defaults (config.CHAPTER_DEFAULTS)."""
    from .config import CHAPTER_DEFAULTS as d
    from .chapters.pca_vs_ae import overcomplete_configs, pca_configs

    nonlinear, linear = pca_configs(settings, d["linear_lr"])
    return nonlinear + linear + overcomplete_configs(settings, d["overcomplete_size"], d["sparsity_alphas"])


def _regularizers(settings, rows):
    """The lecture notes' regularizers chapter at its own defaults (config.CHAPTER_DEFAULTS)."""
    from .config import CHAPTER_DEFAULTS as d
    from .chapters.regularizers import regularizer_configs, regularizer_families

    families = regularizer_families(**{k: d[k] for k in ("l1_alphas", "l2_alphas", "kl_alphas", "rho", "topk",
                                                         "gaussian_level", "masking_level", "conv_channels")})
    return [c for configs in regularizer_configs(settings, d["bottleneck"], families).values() for c in configs]


STEPS = [
    Step("decorrelation", _decorrelation, "Table 1 and Figure 1: the paper's grid (embeddings reuses it)",
         ("silhouette", "tsne_map")),
    Step("penalty_variants/selection", _selection, "stage 1: each penalty's alpha, chosen on the selection seeds"),
    Step("penalty_variants/linear_code", _linear_code, "the linear-code standard runs of the bottleneck check"),
    Step("penalty_variants/table", _variants, "stage 2: the variant seeds at the selected alphas",
         ("silhouette", "quantisation", "code_scores")),
    Step("confounds/linear_code", _linear_penalties,
         "every penalty on the linear code, the stronger baseline, at the LeakyReLU code's alphas"),
    Step("confounds/plug_and_play", _plug_and_play, "every penalty, alpha unchanged, on the conv AE and Fashion-MNIST"),
    Step("datasets", _fashion, "the paper's grid on Fashion-MNIST"),
    Step("activations_losses", _student, "the student report's models", ("output_stats",)),
    Step("pca_vs_ae", _pca_vs_ae, "the lecture notes' PCA chapter: linear and nonlinear AEs at six code sizes, "
         "the overcomplete code", ("subspace", "overcomplete")),
    Step("regularizers", _regularizers, "the lecture notes' regularised autoencoders: sparse, denoising, convolutional",
         ("code_summary", "denoising")),
]


def step(chapter: str) -> Step:
    return next(s for s in STEPS if s.chapter == chapter)


def page_gaps(settings: Profile, rows: dict, page: str) -> list[str]:
    """What the record lacks for `page` (chapters.PAGES), one line per step; empty when it is complete."""
    gaps, unevaluated_keys = [], missing_evaluations(settings, rows) if PAGES[page].steps else {}
    for name in PAGES[page].steps:
        configs = step(name).runs(settings, rows)
        if configs is None:
            gaps.append(f"{name}: waits for the steps before it")
            continue
        lacking = sum(c.key() not in rows for c in configs)
        unevaluated = sum(c.key() in unevaluated_keys for c in configs)
        if lacking or unevaluated:
            gaps.append(f"{name}: {lacking} of {len(configs)} runs not recorded"
                        + (f", {unevaluated} lack an evaluation" if unevaluated else ""))
    return gaps


def step_runs(settings: Profile, rows: dict) -> list[tuple[str, list[RunConfig] | None]]:
    """(chapter, its runs that no earlier step trains) for each step in order; None for a step
    that cannot be planned yet (it follows one the record lacks)."""
    seen, steps = set(), []
    for step in STEPS:
        configs = step.runs(settings, rows)
        if configs is not None:
            configs = [c for c in configs if c.key() not in seen]
            seen |= {c.key() for c in configs}
        steps.append((step.chapter, configs))
    return steps


def plan(settings: Profile, rows: dict) -> tuple[list[tuple[str, RunConfig]], list[str]]:
    """(chapter, config) of every run the record lacks (or that lacks an evaluation and whose
    weights are gone: it is trained again), in step order, each once; and the steps that cannot
    be planned yet."""
    done = set(rows) - without_weights(missing_evaluations(settings, rows))
    steps = step_runs(settings, rows)
    todo = [(chapter, c) for chapter, configs in steps if configs for c in configs if c.key() not in done]
    return todo, [chapter for chapter, configs in steps if configs is None]


def step_costs(settings: Profile, rows: dict) -> list[dict]:
    """Each step's runs, how many the record holds, and its hours on a 2-core CPU (the first-guess
    rate, ARCH_COST per architecture); runs None: not planned until the steps before it are recorded."""
    rate, costs = SECONDS_PER_MODEL_EPOCH["cpu"], []
    for step, (chapter, configs) in zip(STEPS, step_runs(settings, rows)):
        known = configs is not None
        conv = [c for c in configs or [] if c.arch == "conv"]
        costs.append({"step": chapter, "reason": step.reason, "runs": len(configs) if known else None,
                      "recorded": sum(c.key() in rows for c in configs) if known else None,
                      "hours": model_epochs(configs) * rate / 3600 if known else None,
                      "conv_hours": model_epochs(conv) * rate / 3600 if known else None})
    return costs


def runs_table(settings: Profile, rows: dict) -> str:
    """README's "what the book trains": each step's runs and its hours on a 2-core CPU."""
    lines = [f"| step (`plan.STEPS`) | why | runs ({settings.name} profile) | hours, 2-core CPU "
             f"({SECONDS_PER_MODEL_EPOCH['cpu']} s per model-epoch) |", "| --- | --- | --- | --- |"]
    costs = step_costs(settings, rows)                              # planned once: it reads every step
    for cost in costs:
        lines.append(f"| `{cost['step']}` | {cost['reason']} | planned once the steps before it are recorded | |"
                     if cost["runs"] is None else f"| `{cost['step']}` | {cost['reason']} | {cost['runs']} | {cost['hours']:.1f} |")
    total = cost_numbers(costs)
    lines.append(f"| all | | {total['runs']} | {total['hours']:.1f} |")
    return "\n".join(lines)


def cost_numbers(costs: list[dict]) -> dict:
    """The record's size and cost (step_costs), and what the confounds chapter's steps add."""
    known, confounds = [c for c in costs if c["runs"] is not None], [c for c in costs if c["step"].startswith("confounds/")]
    return {"runs": sum(c["runs"] for c in known), "recorded": sum(c["recorded"] for c in known),
            "hours": sum(c["hours"] for c in known), "rate": SECONDS_PER_MODEL_EPOCH["cpu"], "conv_cost": ARCH_COST["conv"],
            "confounds_runs": sum(c["runs"] or 0 for c in confounds), "confounds_hours": sum(c["hours"] or 0 for c in confounds),
            "confounds_conv_hours": sum(c["conv_hours"] or 0 for c in confounds)}


def with_readme_tables(readme: str, settings: Profile, rows: dict) -> str:
    """README's text with both generated tables: which code makes which table, and what the book trains."""
    return with_table(with_readme_table(readme), "what the book trains", runs_table(settings, rows))


def needed_evaluations(settings: Profile, rows: dict) -> dict[str, set[str]]:
    """key -> the evaluations some step declares for that run (each run of every plannable step)."""
    from .evaluations import REGISTRY

    needed = defaultdict(set)
    for step in STEPS:
        for cfg in (step.runs(settings, rows) or []) if step.evaluations else []:
            needed[cfg.key()].update(name for name in step.evaluations if REGISTRY[name].applies(cfg.to_dict()))
    return needed


def missing_evaluations(settings: Profile, rows: dict) -> dict[str, set[str]]:
    """key -> the evaluations a recorded run still lacks."""
    from .evaluations import recorded

    return {key: lacking for key, names in needed_evaluations(settings, rows).items() if key in rows
            and (lacking := {name for name in names if recorded(name, key) is None})}


def pieces(todo: list[tuple[str, RunConfig]]) -> list[list[RunConfig]]:
    """The missing runs cut into stacks of one chapter, architecture and seed (a seed's runs share
    each batch), at most PIECE_RUNS each, in plan order."""
    groups = defaultdict(list)
    for chapter, cfg in todo:
        groups[(chapter, cfg.architecture, cfg.seed)].append(cfg)
    return [group[i:i + PIECE_RUNS] for group in groups.values() for i in range(0, len(group), PIECE_RUNS)]


def model_epochs(configs: list[RunConfig]) -> float:
    """Work in model-epochs of the paper's MLP on its 50k training images (ARCH_COST)."""
    return sum(c.epochs * c.train_size / TRAIN_SIZE * ARCH_COST[c.arch] for c in configs)


def parse_budget(text: str) -> float:
    """'140m', '2h', '90s' or '1h30m' -> seconds; a clear error for anything else."""
    match = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?", text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ConfigError(f"budget={text!r} is not allowed: a duration such as 140m, 2h, 1h30m or 90s")
    hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def record_rows() -> dict:
    """The record's runs at this code version: key -> its runs_frame row."""
    return {key: content["row"] for key, content in record.load().items()}


# ------------------------------------------------------------------------------- make record
def record_piece(piece: list[RunConfig], device: str, environment: str, evaluations: dict[str, set[str]]) -> None:
    """Train what the local cache lacks of `piece` (cache.get_runs), write each run's record, then
    the evaluations steps declare for its runs (evaluations: key -> names), weights at hand."""
    from .cache import get_runs, run_path
    from .data import load_splits
    from .evaluations import evaluate_and_record

    trained = {cfg.key() for cfg in piece if not run_path(cfg).is_file()}
    runs = get_runs(piece, device=device)
    for run, cfg in zip(runs, piece):
        stamp = run_path(cfg).stat().st_mtime
        run["trained_at"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(stamp))
    splits = load_splits(piece[0].dataset)
    for content in record.run_records(runs, splits.test.images, splits.test.labels, environment):
        if content["key"] in trained or not record.run_path(content["key"]).is_file():   # else it only gains evaluations
            record.write(content, record.run_path(content["key"]))
    for name in sorted({name for run in runs for name in evaluations.get(run["key"], ())}):
        evaluate_and_record(name, [run for run in runs if name in evaluations.get(run["key"], ())], splits)


def without_weights(keys) -> set[str]:
    """The recorded runs among `keys` whose weights are not in the local run cache."""
    from .cache import load_run

    return {key for key in keys if (cfg := load_config(key)) is None or load_run(cfg) is None}


def evaluate_recorded(settings: Profile, rows: dict) -> None:
    """Add the evaluations recorded runs lack, from the weights in the local cache (a run recorded
    before its step declared an evaluation); runs whose weights are gone are planned again."""
    lacking = missing_evaluations(settings, rows)
    groups = defaultdict(list)
    for key in set(lacking) - without_weights(lacking):
        cfg = load_config(key)
        groups[cfg.architecture].append(cfg)
    for piece in groups.values():
        record_piece(piece, "cpu", record.save_environment(), lacking)


def load_config(key: str) -> RunConfig | None:
    """The RunConfig of a recorded run."""
    path = record.run_path(key)
    if not path.is_file():
        return None
    return RunConfig.from_dict(record.read(path)["config"])


def left_message(settings: Profile, rate: float) -> str:
    """How much of the profile the record still lacks: runs, estimated hours here, waiting steps."""
    todo, waiting = plan(settings, record_rows())
    per_step = defaultdict(int)
    for chapter, _ in todo:
        per_step[chapter] += 1
    hours = model_epochs([c for _, c in todo]) * rate / 3600
    lines = [f"record: {len(record_rows())} runs at this code version; left to train for the {settings.name} "
             f"profile: {len(todo)} runs, about {hours:.1f} h here ({rate:.2f} s per model-epoch)"]
    lines += [f"  {chapter}: {count} runs" for chapter, count in per_step.items()]
    lines += [f"  {chapter}: planned once the steps before it are recorded" for chapter in waiting]
    lacking = missing_evaluations(settings, record_rows())
    if lacking:
        lines.append(f"  {len(lacking)} recorded runs lack an evaluation their step declares (added by make "
                     "record from the local cache; without the weights, the run is retrained)")
    if record.stale():
        lines.append(f"  {record.stale()} record files are of another code version (their runs are retrained)")
    return "\n".join(lines)


def run(settings: Profile, budget: float, device: str) -> float:
    """Train and record pieces while they fit in `budget` seconds; returns the measured rate. The
    plan is made again after each piece, so a step that a piece unlocks (stage 2, once stage 1 is
    complete) is trained next, in the order of STEPS, not after everything planned before it. A
    piece too long for the time left gives way to the first later one that fits (the session's
    tail is used), and the record stops when none does."""
    from .cache import load_run

    started, rate, environment = time.monotonic(), SECONDS_PER_MODEL_EPOCH[device], record.save_environment()
    evaluate_recorded(settings, record_rows())
    bar, last = tqdm(desc="record", unit="run"), None
    try:
        while todo := plan(settings, record_rows())[0]:
            bar.total = bar.n + len(todo)                   # grows when a piece unlocks a step
            estimates = [(piece, [c for c in piece if load_run(c) is None]) for piece in pieces(todo)]
            left = budget - (time.monotonic() - started)
            fits = [(piece, missing) for piece, missing in estimates if SAFETY * model_epochs(missing) * rate <= left]
            if not fits:
                first = estimates[0][1]
                bar.write(f"record: stopping, the next piece ({len(first)} runs, about "
                          f"{model_epochs(first) * rate / 60:.0f} min) would not end within the budget")
                return rate
            piece, missing = fits[0]
            if [c.key() for c in piece] == last:            # never loop on a piece the record did not take
                raise RuntimeError(f"record: the piece of {piece[0].key()} was trained but is still missing")
            last = [c.key() for c in piece]
            begun = time.monotonic()
            record_piece(piece, device, environment, needed_evaluations(settings, record_rows()))
            if missing:
                rate = (time.monotonic() - begun) / model_epochs(missing)
            bar.update(len(piece))
        return rate
    finally:
        bar.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make record", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--budget", default="140m", help="stop before this much time has passed (140m, 2h, 90s)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda where available)")
    parser.add_argument("--dry-run", action="store_true", help="print what is left, train nothing")
    parser.add_argument("--readme", action="store_true", help="rewrite README.md's generated tables (from STEPS, "
                        "the record and chapters.PAGES)")
    args = parser.parse_args(argv)
    if args.readme:
        from .config import project_root
        from .files import save_text

        readme = project_root() / "README.md"
        return save_text(with_readme_tables(readme.read_text(), load_profile("paper"), record_rows()), readme)
    from .train import pick_device

    try:   # every argument checked before any work
        settings, budget = load_profile(args.profile), parse_budget(args.budget)
        device = pick_device(args.device).type
    except (ConfigError, ValueError, RuntimeError) as exc:
        sys.exit(f"error: {exc}")
    try:
        rate = SECONDS_PER_MODEL_EPOCH[device] if args.dry_run else run(settings, budget, device)
        print(left_message(settings, rate), flush=True)
    except record.RecordError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
