"""The browser check of the built site (aebottleneck.sitecheck), on small hand-made pages; the
show_table helper and the page preparation of executed notebooks. Only the last test needs
Chromium."""
import base64
import json

import pytest

from aebottleneck import sitecheck
from aebottleneck.sitecheck import check_page, read_dom

CLEAN = """<html><head><link rel="stylesheet" href="_static/site.css"><script src="_static/site.js"></script></head>
<body><main id="main"><h1 id="intro">Intro</h1>
<p>Math <span class="math"><mjx-container class="MathJax">alpha</mjx-container></span> typeset.
A dollar in code: <code>$AEB_DATA_DIR</code>, and one price: $5 only.</p>
<pre>print("$x$ and \\\\(y\\\\) in code are code")</pre>
<a href="#intro">top</a> <a href="other.html#part">other</a> <a href="https://example.org">away</a>
<a href="data:text/csv;base64,YSxiCjEsMgo=" download="t.csv">CSV</a>
<div class="cell_output"><img src="_images/fig.png" alt="Test RMSE against code size">
<table><tr><th>method</th><th>rmse</th></tr><tr><td>PCA</td><td>\u2013</td></tr></table>
<pre>training finished</pre></div>
<img src="data:image/png;base64,iVBORw0KGgo=" alt="logo"></main></body></html>"""


@pytest.fixture
def site(tmp_path):
    """A site folder with the files the clean page links to."""
    for name, text in {"_static/site.css": "p {}", "_static/site.js": ";", "_images/fig.png": "png",
                       "other.html": '<html><body><h2 id="part">Part</h2></body></html>',
                       "index.html": "<html></html>"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def problems(html, site, console=""):
    return check_page(read_dom(html), site / "page.html", site, console)


def kinds(found):
    return sorted({p.kind for p in found})


def test_a_clean_page_passes(site):
    assert problems(CLEAN, site) == []


@pytest.mark.parametrize("raw", [r"\(n = 8\)", r"\[x^2\]", "$$x^2$$", r"$\alpha$", "$n = 8$", r"\begin{align}"])
def test_raw_tex_in_prose_fails(site, raw):
    found = problems(CLEAN.replace("typeset.", f"typeset. {raw}"), site)
    assert kinds(found) == ["raw TeX"], found


def test_tex_that_mathjax_typeset_passes(site):
    page = CLEAN.replace("alpha</mjx", r"\(\alpha\)</mjx")   # inside mjx-container: MathJax's own
    assert problems(page, site) == []


@pytest.mark.parametrize("image, reason", [
    ('<img src="_images/missing.png" alt="a">', "broken image"),
    ('<img src="data:image/png;base64," alt="a">', "broken image"),
    ('<img alt="a">', "broken image"),
    ('<img src="https://cdn.example.org/a.png" alt="a">', "remote resource"),
])
def test_broken_or_remote_images_fail(site, image, reason):
    assert kinds(problems(CLEAN.replace("</main>", image + "</main>"), site)) == [reason]


def test_empty_image_file_fails(site):
    (site / "_images" / "empty.png").write_bytes(b"")
    assert kinds(problems(CLEAN.replace("</main>", '<img src="_images/empty.png" alt="a"></main>'), site)) == ["broken image"]


@pytest.mark.parametrize("alt", ['', 'alt=""', 'alt="fig.png"'])
def test_output_image_without_alt_text_fails(site, alt):
    page = CLEAN.replace('<img src="_images/fig.png" alt="Test RMSE against code size">',
                         f'<img src="_images/fig.png" {alt}>')
    assert kinds(problems(page, site)) == ["no alt text"]


@pytest.mark.parametrize("link", ['<a href="missing.html">x</a>', '<a href="other.html#nowhere">x</a>',
                                  '<a href="#nowhere">x</a>', '<a href="data:text/csv;base64,">x</a>',
                                  '<script src="_static/gone.js"></script>'])
def test_broken_links_fail(site, link):
    assert kinds(problems(CLEAN.replace("</main>", link + "</main>"), site)) == ["broken link"]


def test_scripts_from_the_network_fail(site):
    page = CLEAN.replace("</head>", '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script></head>')
    assert kinds(problems(page, site)) == ["remote resource"]


@pytest.mark.parametrize("output", [
    '<div class="output traceback"><pre>boom</pre></div>',
    '<div class="output stderr"><pre>warning</pre></div>',
    '<div class="cell_output"><pre>Traceback (most recent call last):\n  File "x"</pre></div>',
    '<div class="cell_output"><pre>ValueError: bad value</pre></div>',
])
def test_errors_in_outputs_fail(site, output):
    assert kinds(problems(CLEAN.replace("</main>", output + "</main>"), site)) == ["error output"]


def test_error_words_in_prose_pass(site):
    page = CLEAN.replace("typeset.", "typeset. The Error bars show a ValueError: never raised here.")
    assert problems(page, site) == []


@pytest.mark.parametrize("cell", ["nan", "NaN", "<NA>", " nan "])
def test_nan_in_a_table_fails(site, cell):
    page = CLEAN.replace("<td>\u2013</td>", f"<td>{cell.replace('<', '&lt;').replace('>', '&gt;')}</td>")
    assert kinds(problems(page, site)) == ["nan in a table"]


def test_resources_chromium_failed_to_load_fail(site):
    console = '[0101/000000.0:INFO:CONSOLE(0)] "Failed to load resource: net::ERR_FILE_NOT_FOUND", source: file:///x/font.woff'
    assert kinds(problems(CLEAN, site, console)) == ["failed to load"]


def test_site_pages_skip_asset_folders(site):
    (site / "_static" / "macros.html").write_text("<html></html>")
    assert [p.name for p in sitecheck.site_pages(site)] == ["index.html", "other.html"]


def test_show_table_renders_once_with_names_and_csv_link(tmp_path):
    import pandas as pd

    from aebottleneck.pages import table_html

    frame = pd.DataFrame({"method": ["PCA", "AE"], "rmse_mean": [0.123456, float("nan")], "extra": [1, 2]})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    html = table_html(frame, path, {"method": "method", "rmse_mean": "test RMSE"}, caption="Two methods.",
                      formats={"rmse_mean": "{:.4f}"})
    page = read_dom(html)
    assert page.cells == ["method", "test RMSE", "PCA", "0.1235", "AE", "\u2013"]   # no nan, no 'extra'
    assert html.count("<table") == 1 and "<caption>Two methods.</caption>" in html
    href = next(url for tag, url in page.links if url.startswith("data:text/csv"))
    assert base64.b64decode(href.partition(",")[2]) == path.read_bytes()
    long = table_html(pd.DataFrame({"i": range(12)}), path, max_rows=5)
    assert long.count("<table") == 2 and "<details>" in long and "first 5 of 12" in long
    with pytest.raises(KeyError, match="no column 'rmse'"):
        table_html(frame, path, {"rmse": "RMSE"})
    with pytest.raises(FileNotFoundError):
        table_html(frame, tmp_path / "missing.csv")


def test_a_figure_glued_for_another_page_carries_its_alt_text(monkeypatch):
    """The first page pastes Figure 1 from the embeddings page: as an image with alt text, which a
    pasted matplotlib figure lacks."""
    import matplotlib.pyplot as plt
    import myst_nb

    from aebottleneck import pages

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: glued.update({name: (value, display)}))
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    pages.glue_figure("figure1", fig, alt='codes "by class" & more')
    plt.close(fig)
    value, displayed = glued["figure1"]
    dom = read_dom(f"<html><body>{value.data}</body></html>")
    assert not displayed and 'alt="codes &quot;by class&quot; &amp; more"' in value.data
    assert len(dom.images) == 1 and dom.images[0]["src"].startswith("data:image/png;base64,")
    assert dom.images[0]["alt"] == 'codes "by class" & more'


def test_prepare_page_folds_code_but_not_parameters_and_sets_alt_text(tmp_path):
    import nbformat

    from aebottleneck.execute import prepare_page

    image = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = "paper"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('profile = "quick"', metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_markdown_cell("## Samples\nThe first ten images of each digit, $n = 8$."),
        nbformat.v4.new_code_cell("plot()", outputs=[image]),
        nbformat.v4.new_code_cell("plot()", outputs=[image],
                                  metadata={"mystnb": {"figure": {"caption": r"Test RMSE against $\alpha$."}}}),
        nbformat.v4.new_code_cell("plot()", outputs=[image]),
    ])
    path = tmp_path / "page.ipynb"
    nbformat.write(notebook, path)
    prepare_page(path)
    cells = json.loads(path.read_text())["cells"]
    assert [c["metadata"].get("tags") for c in cells if c["cell_type"] == "code"] == [
        ["parameters"], ["injected-parameters"], ["hide-input"], ["hide-input"], ["hide-input"]]
    alts = [c["metadata"].get("mystnb", {}).get("image", {}).get("alt") for c in cells[3:]]
    assert alts == ["The first ten images of each digit, n = 8.", "Test RMSE against alpha.", None]


@pytest.mark.skipif(sitecheck.find_chromium() is None, reason="no chromium on PATH (make chromium installs it)")
def test_chromium_renders_offline_and_the_check_finds_planted_faults(site):
    (site / "good.html").write_text(CLEAN.replace("<script src=\"_static/site.js\"></script>", ""))
    (site / "bad.html").write_text("<html><body><p>raw \\(x\\)</p><img src='gone.png' alt='a'>"
                                   "<table><tr><td>nan</td></tr></table></body></html>")
    browser = sitecheck.find_chromium()
    assert check_page(read_dom(sitecheck.render(browser, site / "good.html")[0]), site / "good.html", site) == []
    found = check_page(read_dom(sitecheck.render(browser, site / "bad.html")[0]), site / "bad.html", site)
    assert {"raw TeX", "broken image", "nan in a table"} <= {p.kind for p in found}
    sitecheck.screenshot(browser, site / "good.html", site / "shots" / "good.png", size="400,300")
    assert (site / "shots" / "good.png").stat().st_size > 0


def test_show_table_names_raw_columns_from_one_registry(tmp_path):
    import pandas as pd

    from aebottleneck.pages import NAMES, table_html

    path = tmp_path / "t.csv"
    frame = pd.DataFrame({"bottleneck": [8], "alpha": [0.001], "p_holm": [0.01234], "odd_name": [1.5]})
    frame.to_csv(path, index=False)
    html = table_html(frame, path, ["bottleneck", "alpha", "p_holm", "odd_name"])
    assert f">{NAMES['bottleneck']}<" in html and ">p (Holm)<" in html and ">odd name<" in html
    assert ">0.001<" in html and ">0.012<" in html          # FORMATS: alpha {:g}, p to 3 decimals
    assert ">0.0123<" in table_html(frame, path, ["p_holm"], formats={"p_holm": "{:.4f}"})   # a page's own format wins


def test_the_explorer_check_reads_the_chart_not_the_data_the_page_embeds():
    from aebottleneck.sitecheck import _explorer_spec, _shown

    spec = {"datasets": {"lines": [{"penalty": "squared", "n": 8, "alpha_index": 2, "line": 0, "text": "test RMSE 0.1"}],
                         "images": [{"penalty": "squared", "n": 8, "alpha_index": 2, "row": 1, "url": "data:image/png;x"}]}}
    embedded = f'<script type="application/json" id="alpha-explorer-spec">{json.dumps(spec)}</script>'
    assert _explorer_spec(f"<html>{embedded}</html>") == spec
    unchanged = f'<div id="alpha-explorer"><svg><text>test RMSE 0.2</text></svg></div>{embedded}'
    assert _shown(unchanged, spec, ("squared", 8, 2)) == ["'test RMSE 0.1'", "its reconstructions' image"]
    moved = f'<div id="alpha-explorer"><svg><text>test RMSE 0.1</text><image href="data:image/png;x"/></svg></div>{embedded}'
    assert _shown(moved, spec, ("squared", 8, 2)) == []
    assert _shown(moved, spec, ("abs", 8, 2)) == ["its numbers"]
