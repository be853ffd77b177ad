"""Nothing wrong gets in: every notebook parameter is declared once with its form and checked
before any kernel starts; duplicates, paths outside the output folder and bad switches are
refused with a message that names them; custom tables go to a folder of their own."""
import json

import pytest

from aebottleneck.config import ConfigError, env_flag, load_profile, project_root
from aebottleneck.chapters import in_book_order
from aebottleneck.execute import declared_parameters, main
from aebottleneck.parameters import PARAMETERS, check_parameters

SOURCES = project_root() / "notebooks"


@pytest.mark.parametrize("name", in_book_order())
def test_every_declared_parameter_has_an_entry_and_its_default_passes(name):
    declared = declared_parameters(SOURCES / f"{name}.ipynb")
    assert set(declared) <= set(PARAMETERS), set(declared) - set(PARAMETERS)
    check_parameters(declared)


@pytest.mark.parametrize("args, message", [
    (["decorrelation", "-p", "seeds", "[0, 0, 1]"], "seeds=[0, 0, 1] is not allowed: a value appears twice"),
    (["decorrelation", "-p", "alphas", "[0.01, 0.01]"], "alphas=[0.01, 0.01] is not allowed: a value appears twice"),
    (["decorrelation", "-p", "seeds", "(0, 1)"], "seeds=(0, 1) is not allowed: a non-empty list such as [0, 1, 2]"),
    (["decorrelation", "-p", "seeds", str([2**64])], f"seeds={2**64} is not allowed: must be <= {2**32 - 1}"),
    (["regularizers", "-p", "rho", "1.5"], "rho=1.5 is not allowed: must lie in (0, 1)"),
    (["regularizers", "-p", "rho", "'0.1'"], "rho='0.1' is not allowed: expected a finite number"),
    (["regularizers", "-p", "topk", "[]"], "topk=[] is not allowed: a non-empty list such as [8]"),
    (["regularizers", "-p", "topk", "[40]"], "topk=[40] is not allowed: every k must be < bottleneck=32"),
    (["regularizers", "-p", "l1_alphas", "[]"], "l1_alphas=[] is not allowed: a non-empty list"),
    (["regularizers", "-p", "kl_alphas", "0.001"], "kl_alphas=0.001 is not allowed: a non-empty list"),
    (["regularizers", "-p", "conv_channels", "[8, 16, 32]"], "conv_channels=[8, 16, 32] is not allowed: at most 2"),
    (["pca_vs_ae", "-p", "sparsity_alphas", "[]"], "sparsity_alphas=[] is not allowed: a non-empty list"),
    (["embeddings", "-p", "tsne_size", "20000"], "tsne_size=20000 is not allowed: must be <= 10000"),
    (["embeddings", "-p", "tsne_size", "20", "-p", "perplexity", "30.0"], "perplexity=30.0 is not allowed: must be < tsne_size=20"),
    (["../notebooks/data"], "notebook='../notebooks/data' is not allowed"),
])
def test_bad_parameter_is_named_before_any_kernel_starts(args, message, capsys, tmp_path):
    assert main([*args, "--profile", "quick", "--output-dir", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_sources_are_never_an_output(capsys):
    before = {p: p.read_bytes() for p in SOURCES.glob("*.ipynb")}
    for output in (SOURCES, SOURCES / "sub"):
        assert main(["data", "--profile", "quick", "--output-dir", str(output)]) == 2
        assert "it would overwrite the source notebooks" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in SOURCES.glob("*.ipynb")} == before
    assert not (SOURCES / "sub").exists()


def test_an_output_dir_that_is_a_file_is_named(capsys, tmp_path):
    (tmp_path / "out").write_text("a file")
    assert main(["data", "--profile", "quick", "--output-dir", str(tmp_path / "out")]) == 2
    assert "is not allowed: it is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["seeds", "alphas", "bottlenecks", "selection_seeds", "variant_seeds", "variant_alphas"])
def test_duplicates_in_profile_lists_are_errors(key):
    value = {"seeds": [0, 1, 0], "selection_seeds": [1, 1], "variant_seeds": [3, 3], "alphas": [0.1, 0.1],
             "variant_alphas": [1.0, 1.0], "bottlenecks": [8, 8]}[key]
    with pytest.raises(ConfigError, match=rf"{key}=.* is not allowed: a value appears twice"):
        load_profile("quick", **{key: value})


@pytest.mark.parametrize("profile", ["paper", "quick"])
def test_alpha_is_never_tested_on_a_seed_it_was_chosen_on(profile):
    settings = load_profile(profile)
    assert not set(settings.selection_seeds) & set(settings.variant_seeds)
    with pytest.raises(ConfigError, match=r"variant_seeds=\[2, 3\] is not allowed: must share no seed with selection_seeds"):
        load_profile(profile, variant_seeds=[2, 3])


def test_custom_overrides_get_folders_of_their_own_with_the_overrides_beside(results):
    one, two = load_profile("quick", alphas=[0.02]), load_profile("quick", alphas=[0.03])
    assert one.tables_dir() != two.tables_dir() != load_profile("quick").tables_dir()
    assert one.tables_dir() == load_profile("quick", alphas=[0.02]).tables_dir()      # same request, same folder
    assert json.loads((one.tables_dir() / "overrides.json").read_text()) == {"profile": "quick", "alphas": [0.02]}
    assert not (load_profile("quick").tables_dir() / "overrides.json").exists()


@pytest.mark.parametrize("value, expected", [("0", False), ("no", False), ("OFF", False), ("False", False),
                                             ("1", True), ("yes", True), ("On", True), ("true", True), ("", True)])
def test_switches_take_the_usual_spellings(value, expected, monkeypatch):
    monkeypatch.setenv("AEB_DOWNLOAD", value)
    assert env_flag("AEB_DOWNLOAD", default=True) is expected


def test_a_bad_switch_fails_before_any_work(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AEB_DOWNLOAD", "nope")
    assert main(["data", "--profile", "quick", "--output-dir", str(tmp_path / "out")]) == 2
    assert "AEB_DOWNLOAD='nope' is not allowed: an on/off switch" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# Issue 32: a tweak never overwrites the record, and one site never mixes two requests.
def load_profile_keywords(name: str) -> set[str]:
    """The keyword names the notebook passes to load_profile (in any of its code cells)."""
    import ast

    notebook = json.loads((SOURCES / f"{name}.ipynb").read_text())
    names = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_profile":
                names |= {kw.arg for kw in node.keywords}
    return names


@pytest.mark.parametrize("name", in_book_order())
def test_every_parameter_that_can_change_a_table_enters_the_request(name):
    """Each declared parameter but the profile (named positionally) and the device (a run's key
    does not name it) reaches load_profile, whose name then carries a digest of every override."""
    declared = set(declared_parameters(SOURCES / f"{name}.ipynb")) - {"profile", "device"}
    assert declared <= load_profile_keywords(name), declared - load_profile_keywords(name)


@pytest.mark.parametrize("name", in_book_order())
def test_chapter_defaults_are_the_notebooks_own(name):
    from aebottleneck.config import CHAPTER_DEFAULTS

    declared = declared_parameters(SOURCES / f"{name}.ipynb")
    for key in set(declared) & set(CHAPTER_DEFAULTS):
        assert declared[key] == CHAPTER_DEFAULTS[key], (name, key)


@pytest.mark.parametrize("key, value", [("l1_alphas", [0.01]), ("linear_lr", 0.01), ("perplexity", 10.0),
                                        ("bottleneck", 16), ("conv_channels", [8, 16])])
def test_a_chapter_parameter_other_than_its_default_is_a_custom_request(key, value, results):
    from aebottleneck.config import CHAPTER_DEFAULTS

    custom = load_profile("quick", **{key: value})
    assert custom.name.startswith("quick-custom-") and custom.tables_dir() != load_profile("quick").tables_dir()
    assert json.loads((custom.tables_dir() / "overrides.json").read_text()) == {"profile": "quick", key: value}
    assert load_profile("quick", **{key: CHAPTER_DEFAULTS[key]}).name == "quick"     # the default is no override


def test_outside_a_checkout_is_an_error_not_a_new_results_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AEB_RESULTS_DIR", raising=False)
    with pytest.raises(ConfigError, match="not inside a checkout.*AEB_RESULTS_DIR"):
        load_profile("quick").tables_dir()
    assert not (tmp_path / "results").exists()
    monkeypatch.setenv("AEB_RESULTS_DIR", str(tmp_path / "mine"))                   # the explicit setting
    assert load_profile("quick").tables_dir() == tmp_path / "mine" / "quick"


def test_one_site_never_mixes_two_requests(tmp_path):
    from aebottleneck.execute import claim_output_dir

    site = tmp_path / "executed"
    site.mkdir()
    claim_output_dir(site, {"profile": "paper", "dataset": "mnist", "overrides": {}})
    claim_output_dir(site, {"profile": "paper", "dataset": "mnist", "overrides": {}})            # the same request
    for other in ({"profile": "quick", "dataset": "mnist", "overrides": {}},
                  {"profile": "paper", "dataset": "mnist", "overrides": {"l1_alphas": [0.01]}}):
        with pytest.raises(ConfigError, match="holds the pages of another request"):
            claim_output_dir(site, other)


def test_overrides_are_what_differs_from_a_notebooks_defaults():
    from aebottleneck.execute import overrides_of

    assert overrides_of(["regularizers"], {"dataset": "fashion_mnist", "device": "cpu", "rho": 0.05}, SOURCES) == {}
    assert overrides_of(["regularizers"], {"rho": 0.1, "seeds": [0]}, SOURCES) == {"rho": 0.1, "seeds": [0]}


def test_an_overridden_page_says_so_below_its_title(tmp_path):
    import nbformat

    from aebottleneck.execute import override_banner

    page = tmp_path / "page.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
                                                   nbformat.v4.new_code_cell("1")]), page)
    override_banner(page, "paper", {"l1_alphas": [0.01]})
    cells = nbformat.read(page, as_version=4).cells
    assert cells[0].source == "# Title" and "overrides of the `paper` profile: `l1_alphas = [0.01]`" in cells[1].source
