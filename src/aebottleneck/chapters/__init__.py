"""The book's pages and what each makes: the steps of the record it reads (plan.STEPS), the tables
it writes and the functions that build them, the functions that draw its figures, and the names of
the values it glues for the text. One graph, as showyourwork's workflow file is one: README's
"which code makes which table" is generated from it (python -m aebottleneck.plan --readme),
tests/test_plan checks each notebook against it, the runner refuses a page that glues a name it
does not declare, and tests/test_glue checks every {glue:...} of the book's text against it.
Each page's code is its own module beside this one, chapters/<page>.py; this module is the graph.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Page:
    """A page of the book (notebooks/<name>.ipynb): what it reads of the record and what it makes.
    A page with steps reads only what the record keeps (get_runs(..., recorded=True)), so once its
    steps are recorded the record alone rebuilds it (rebuild.py); None: not made from the record."""

    steps: tuple[str, ...] | None         # the plan steps whose runs and evaluations it reads
    tables: dict[str, str]                # CSV it writes (pages.publish) -> the function that builds it
    figures: tuple[str, ...] = ()         # the functions that draw its figures (the rest: drawn on the page)
    glue: str = ""                        # the names it glues, spaced; {slot} stands for any of slots()'s values


_STAGE_1 = ("penalty_variants/selection",)
_PENALTY = (*_STAGE_1, "penalty_variants/linear_code", "penalty_variants/table")
_CONFOUNDS = (*_PENALTY, "confounds/linear_code", "confounds/plug_and_play")

# The book's pages, in no particular order (the order is _toc.yml's).
PAGES = {
    "data": Page((), {"data_splits": "chapters.data.split_table"}, ("plots.image_grid",),
        glue=("class_share_max class_share_min dataset_name dataset_note n_test n_train n_val train_phrase "
              "train_pixel_mean train_size_used train_zero_fraction")),
    "decorrelation": Page(("decorrelation",), {
        "selection_table1": "stats.alpha_selection", "table1": "chapters.decorrelation.table1",
        "paired_table1": "chapters.decorrelation.paired_summary", "rmse_kinds": "chapters.decorrelation.rmse_kinds",
        "code_stats_table1": "chapters.decorrelation.code_stats"},
        ("chapters.decorrelation.plot_training_curves", "chapters.decorrelation.plot_correlation_pair"),
        glue=("alpha_grid alpha_{n} code_sentence code_stats_table1 corr_{method}_{n} dataset_name dataset_note "
              "diff_vs_paper_{method}_{n} epochs n_diverged n_penalty_runs n_runaway n_runs n_seeds "
              "paired_diff_{n} paired_sentence paired_table1 paper_diff_{n} paper_{method}_{n} "
              "penalty_better_{n} provenance rmse_gap_per_image rmse_gap_pooled rmse_per_image_below "
              "rmse_pooled_nearer rmse_rows rmse_sentence rmse_{method}_{n} runaway_sentence sel_n_choices sel_n_edge "
              "shown_seed shown_n shown_corr_standard shown_rmse_standard shown_corr_mean_standard "
              "shown_rmse_mean_standard "
              "sel_n_fallback sel_n_validated sel_sentence std_{method}_{n} table1_comparison train_phrase "
              "train_size")),
    "embeddings": Page(("decorrelation",), {"figure1": "chapters.embeddings.figure1_table"},
                       ("chapters.embeddings.plot_figure1", "plots.code_maps"),
        glue=("f1_higher f1_n_runaway f1_n_seeds f1_runaway_note f1_sentence f1_silhouette_penalty "
              "f1_silhouette_standard figure1 provenance tsne_sentence tsne_size")),
    "penalty_variants": Page(("decorrelation", *_PENALTY), {
        "selection_penalty_variants": "stats.alpha_selection", "penalty_variants": "chapters.penalty_variants.variant_table",
        "code_activation": "chapters.penalty_variants.code_activation_table"},
        ("chapters.penalty_variants.plot_alpha_selection", "chapters.penalty_variants.plot_decorrelate_or_shrink",
         "chapters.penalty_variants.plot_runaway_run"),
        glue=("pv_alpha_{variant}_{activation}_{n} pv_best_diff pv_best_n pv_best_p pv_best_p_holm "
              "pv_activation_sentence pv_best_variant pv_bounded_sentence pv_code_std_mean_{variant}_{activation}_{n} "
              "pv_corr_mean_{variant}_{activation}_{n} "
              "pv_diff_ci_high_{variant}_{activation}_{n} pv_diff_ci_low_{variant}_{activation}_{n} "
              "pv_diff_mean_{variant}_{activation}_{n} pv_edge_list pv_epochs pv_equivalence_median "
              "pv_code_growth pv_mde_median pv_min_alpha pv_n_alphas pv_n_cells "
              "pv_n_choices pv_n_diverged pv_n_edge pv_n_edge_bracketed pv_n_fallback pv_n_raw_significant "
              "pv_n_runaway pv_n_runs pv_n_seeds pv_n_selection_seeds pv_n_significant_better "
              "pv_n_significant_worse pv_n_tested pv_n_variants "
              "pv_p_value_{variant}_{activation}_{n} pv_paper_gain_max pv_paper_gain_min "
              "pv_rmse_mean_{variant}_{activation}_{n} pv_rmse_std_{variant}_{activation}_{n} "
              "pv_runaway_by_penalty pv_runaway_ratio pv_runaway_{variant}_{activation}_{n} pv_signed_cells_runs pv_signed_code_std pv_signed_corr "
              "pv_signed_mechanism pv_signed_runaway pv_signed_verdict pv_significant_list pv_standard_code_std "
              "pv_spread_sentence pv_standard_corr provenance")),
    "explorer": Page(_STAGE_1, {}, ("chapters.explorer.chart",),
        glue=("ex_n_seeds provenance")),
    "confounds": Page(_CONFOUNDS, {
        "confounds_baseline": "chapters.penalty_variants.variant_table", "plug_and_play": "chapters.confounds.setting_tables",
        "runaway_rates": "chapters.confounds.runaway_tables", "silhouettes": "chapters.confounds.silhouette_table"},
        ("plots.code_maps",),
        glue=("cf_leaky_relu_better cf_leaky_relu_cells cf_leaky_relu_tested cf_leaky_relu_worse "
              "cf_linear_better cf_linear_cells cf_linear_tested cf_linear_worse cf_plug_better cf_plug_cells "
              "cf_plug_settings cf_plug_tested cf_plug_worse cf_runaway_list cf_runaway_significant "
              "cf_runaway_family cf_runaway_tests cf_sil_higher cf_sil_lower cf_sil_span cf_sil_standard cf_sil_tested provenance")),
    "compression": Page(("penalty_variants/selection", "penalty_variants/table"), {
        "rate_distortion": "chapters.compression.rate_distortion_table", "low_rate": "chapters.compression.low_rate_table",
        "equal_rate": "chapters.compression.equal_rate_table", "equal_joint_rate": "chapters.compression.equal_rate_table"},
        ("chapters.compression.plot_rate_distortion",),
        glue=("er_better er_bits er_cells er_mde er_partial er_span er_tested er_worse jr_better jr_bits jr_cells jr_mde "
              "jr_partial jr_span jr_tested jr_worse rd_better rd_bits rd_cells rd_gain_span rd_mde "
              "rd_low_bits rd_low_top rd_min_bits rd_n_sizes rd_pca_beats_ae_low rd_tested rd_worse provenance")),
    "code_quality": Page(("penalty_variants/selection", "penalty_variants/table"),
                         {"code_quality": "chapters.code_quality.code_quality_table"}, ("chapters.code_quality.plot_code_quality",),
        glue=("cq_away_cells cq_best cq_better cq_cells cq_logreg_better cq_n cq_n_selection_seeds cq_n_variant_seeds cq_neighbours "
              "cq_trust_better "
              "cq_pca_knn cq_signed_knn cq_signed_runaway cq_std_knn cq_tsne_size provenance")),
    "datasets": Page(("decorrelation", "datasets"), {"datasets": "chapters.datasets.datasets_table"},
        glue=("ds_n_sizes ds_{dataset}_beats_pca ds_{dataset}_gap_max ds_{dataset}_gap_min "
              "ds_{dataset}_pca_margin ds_{dataset}_runaway ds_{dataset}_zero_fraction")),
    "activations_losses": Page(("decorrelation", "activations_losses"), {
        "activations_losses": "chapters.activations_losses.activations_losses_table",
        "activations_losses_paired": "chapters.activations_losses.paired_against"},
        ("chapters.activations_losses.plot_reconstructions", "chapters.activations_losses.plot_code_size_curve"),
        glue=("al_background_share al_background_{student} al_best al_blur_sentence al_better_{student} al_deeper "
              "al_diff_{student} al_n_seeds al_paper_4 al_pca_4 al_pca_64 al_relu_above_1 al_relu_max "
              "al_rmse_{student} al_spread al_std_{student} al_test_{student} al_worst dataset_name dataset_note provenance")),
    "pca_vs_ae": Page(("pca_vs_ae",), {
        "pca_vs_ae": "chapters.pca_vs_ae.rmse_table", "pca_subspace": "chapters.pca_vs_ae.subspace_table",
        "overcomplete": "chapters.pca_vs_ae.overcomplete_table"}, ("plots.by_code_size", "plots.code_maps", "plots.image_panels"),
        glue=("pa_ae_tolerance_sentence "
              "dataset_name dataset_note pa_active_l1 pa_active_none pa_ae_beats_pca pa_ae_gap_{n} pa_ae_{n} "
              "pa_angle_max_high pa_angle_max_low pa_angle_max_{n} pa_angle_median_{n} pa_blank_noise_rmse "
              "pa_copy_verdict pa_gap_max pa_gap_min pa_grey_noise_rmse pa_l1_alpha pa_linear_lr pa_linear_{n} pa_n_sizes "
              "pa_noise_l1 pa_noise_none pa_noise_ratio pa_noise_separates pa_paper_sentence pa_overcomplete_size pa_pca_{n} pa_quick_epochs "
              "pa_sparse_verdict pa_test_l1 pa_test_none pa_tolerance pa_untrained_ratio_max "
              "pa_untrained_ratio_min pa_within provenance")),
    "regularizers": Page(("regularizers",), {
        "regularizers": "chapters.regularizers.model_summary", "denoising": "chapters.regularizers.denoising",
        "regularizers_conv": "chapters.regularizers.conv_table"},
        ("chapters.regularizers.plot_code_heatmaps", "plots.image_panels", "chapters.regularizers.plot_denoising_curves"),
        glue=("dataset_name dataset_note rg_channels rg_conv_corr_mean rg_conv_near_zero rg_conv_rmse_mean "
              "rg_conv_seeds rg_conv_verdict rg_gauss_at_dae rg_gauss_losing rg_gauss_other_worse rg_kl_target rg_l2_sparser "
              "rg_mask_losing rg_mask_other_worse rg_gauss_at_std rg_gauss_better rg_gauss_corr_mean "
              "rg_gauss_level rg_gauss_near_zero rg_gauss_rmse_mean rg_k rg_kl_activation rg_kl_corr_mean "
              "rg_kl_near_zero rg_kl_rmse_mean rg_ks_active rg_ks_corr_mean rg_ks_near_zero rg_ks_rmse_mean "
              "rg_l1_alpha rg_l1_corr_mean rg_l1_near_zero rg_l1_rmse_mean rg_l1_verdict rg_l2_alpha "
              "rg_l2_code_std rg_l2_corr_mean rg_l2_near_zero rg_l2_rmse_mean rg_l2_shrinks rg_least_corr "
              "rg_levels rg_mask_at_dae rg_mask_at_std rg_mask_better rg_mask_corr_mean rg_mask_level "
              "rg_mask_near_zero rg_mask_rmse_mean rg_n rg_near_zero rg_params_conv rg_params_mlp rg_rho "
              "rg_sig_activation rg_sig_corr_mean rg_sig_near_zero rg_sig_rmse_mean rg_std_code_std "
              "rg_std_corr_mean rg_std_near_zero rg_std_rmse_mean provenance")),
    # speed reads make bench's measurements, not the record
    "speed": Page(None, {"compute": "chapters.speed.compute_budget", "record_plan": "plan.step_costs"}, ("plots.throughput",),
        glue=("alloc_batched_faults_default alloc_batched_faults_reused alloc_batched_gain alloc_k "
              "alloc_tensor_faults_default alloc_tensor_faults_reused alloc_tensor_gain bench_best_gflops "
              "bench_best_k bench_best_peak_fraction bench_dask_overhead bench_grid_minutes bench_grid_runs "
              "bench_paper_epochs bench_paper_runs bench_paper_tensor_hours bench_peak bench_tensor_bound "
              "bench_tensor_peak_fraction bench_tensor_vs_naive bench_three_tensor_fraction bench_vs_naive "
              "bench_vs_tensor bench_workers bench_workers_gain bench_workers_k bench_workers_peak_fraction "
              "compute_hours compute_minutes compute_runs plan_confounds_conv_hours plan_confounds_hours plan_confounds_runs "
              "plan_conv_cost plan_hours plan_rate plan_recorded plan_runs h100_best_gflops h100_best_k h100_best_peak_fraction "
              "h100_best_vs_tensor h100_epoch_seconds h100_k1_vs_tensor h100_peak h100_step_ms h100_table1_runs "
              "h100_table1_seconds h100_variant_minutes h100_variant_runs")),
    # the verdict reads the tables of the pages above (verdict.SOURCES)
    "verdict": Page(("decorrelation", *_CONFOUNDS), {"verdict": "chapters.verdict.claims"},
        glue=("verdict_epochs verdict_n_selection_seeds verdict_n_variant_seeds verdict_profile verdict_table")),
}


def slots() -> dict[str, str]:
    """{slot} of a glue name -> the regular expression of the values it stands for."""
    from ..config import DATASETS, DECORRELATION_PENALTIES
    from .activations_losses import STUDENT_TAGS

    return {"n": r"\d+",                                                    # a code size
            "method": "standard|penalty",                                   # Table 1's two losses
            "variant": "|".join(("standard", *DECORRELATION_PENALTIES)),    # the penalty chapter's losses
            "activation": "leaky_relu|linear",                              # the code activations it compares
            "dataset": "|".join(DATASETS),
            "student": "|".join(STUDENT_TAGS.values())}                     # the student report's models


@cache
def glue_pattern(page: str) -> re.Pattern:
    """One expression that matches exactly the glue names `page` declares."""
    values = slots()

    def name(declared: str) -> str:
        parts = re.split(r"\{(\w+)\}", declared)            # literal, slot, literal, ...
        return "".join(f"(?:{values[part]})" if i % 2 else re.escape(part) for i, part in enumerate(parts))

    return re.compile("|".join(name(n) for n in PAGES[page].glue.split()))


def undeclared(page: str, names) -> list[str]:
    """The names among `names` that `page` does not declare in PAGES."""
    pattern = glue_pattern(page)
    return sorted(n for n in names if not pattern.fullmatch(n))


_ROLE = re.compile(r"\{glue(?::\w*)?\}`([^`]+)`")                            # {glue:text}`page.ipynb::name:.3f`
_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w*)?\}[ \t]+(\S+)[ \t]*\n(?:[ \t]*:doc:[ \t]*(\S+))?", re.M)   # ```{glue:} name / :doc: page


def _page(path: str, page: str | None) -> str | None:
    return path.rsplit("/", 1)[-1].removesuffix(".ipynb") if path else page


def glue_references(text: str, page: str | None) -> list[tuple[str | None, str]]:
    """(page, name) of every glued value `text` pastes; a name without a notebook path is the
    page's own (`page`: the notebook the text is in; None for a book page, which names one)."""
    found = []
    for match in _ROLE.finditer(text):
        path, _, rest = match.group(1).rpartition("::")
        found.append((_page(path, page), rest.split(":")[0]))
    for match in _DIRECTIVE.finditer(text):
        path, _, name = match.group(1).rpartition("::")
        found.append((_page(path or match.group(2) or "", page), name))
    return found


def in_book_order() -> list[str]:
    """The book's notebooks in the order of _toc.yml, which is also the order they execute in:
    later chapters reuse the runs cached by earlier ones. A new chapter is a notebook plus its
    line in _toc.yml."""
    import yaml

    from ..config import project_root

    toc = yaml.safe_load((project_root() / "_toc.yml").read_text())
    parts = toc.get("parts") or [{"chapters": toc.get("chapters") or []}]   # a book with or without parts
    files = [chapter["file"] for part in parts for chapter in part.get("chapters") or []]
    return [name.split("/", 1)[1] for name in files if name.startswith("executed/")]


def readme_table() -> str:
    """README's "which code makes which table and figure", from PAGES, in the book's order."""
    lines = ["| page (`notebooks/`) | reads of the record (`plan.STEPS`) | tables (CSV: built by) | figures (drawn by) |",
             "| --- | --- | --- | --- |"]
    for name in in_book_order():
        page = PAGES[name]
        steps = "not made from the record" if page.steps is None else ", ".join(f"`{s}`" for s in page.steps) or "nothing"
        tables = ", ".join(f"`{t}` (`{f}`)" for t, f in page.tables.items()) or "none"
        figures = ", ".join(f"`{f}`" for f in page.figures) or "none"
        lines.append(f"| `{name}` | {steps} | {tables} | {figures} |")
    return "\n".join(lines)


def with_table(text: str, name: str, table: str) -> str:
    """`text` (README's) with `table` between the markers of `name` (an error if they are missing)."""
    begin, end = f"<!-- {name}: made by python -m aebottleneck.plan --readme -->", f"<!-- end of {name} -->"
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"README.md must hold each of {begin!r} and {end!r} once")
    head, rest = text.split(begin)
    return f"{head}{begin}\n{table}\n{end}{rest.split(end)[1]}"


def with_readme_table(readme: str) -> str:
    """README's text with the generated "which code makes which table" (an error if its markers are missing)."""
    return with_table(readme, "which code makes which table", readme_table())
