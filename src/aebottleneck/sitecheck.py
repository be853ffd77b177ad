"""Open every page of a built site as a reader would, in headless Chromium from file:// with the
network cut off, and list what a reader would see broken.

    python -m aebottleneck.sitecheck _build/testbook/book/_build/html --screenshots _build/screenshots

Each page is rendered by Debian's `chromium` (scripts run, MathJax typesets) and its DOM read
back. Exit code 1 and one line per problem when a page shows:
- raw TeX: `\\(`, `\\[`, `$$`, `\\begin{` or `$...$` in the visible text (outside code), i.e. math
  MathJax did not typeset;
- a broken image (a local src missing or empty, an empty data: URI) or an output figure without
  alt text;
- a broken link (a local href to a missing file, or to an anchor the target page lacks), or a
  script, stylesheet or image fetched from the network at view time;
- an error in an output: a traceback or stderr block, or a line such as `ValueError: ...`;
- a `nan` (or `<NA>`, `NaT`) cell in a table;
- a resource Chromium failed to load (its console's "Failed to load resource");
- an alpha explorer (executed/explorer.html) that, opened at another setting, does not show that
  setting's numbers and reconstructions (`explorer_problems`).
Screenshots of three pages (--screenshot-pages) go to --screenshots. Exit code 2: no Chromium,
or no site at the path.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr"}
NOT_READ = {"script", "style", "noscript", "template", "textarea", "title"}     # never visible text
NOT_PROSE = {"pre", "code", "kbd", "samp", "mjx-container", "svg", "math"}    # text, but not prose
MISSING_VALUES = {"nan", "-nan", "<na>", "nat"}
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\begin\{|(?<![\w$\\])\$(?=[^\s$])[^$\n]{1,200}?(?<=[^\s$\\])\$(?![\w$])")
ERROR_LINE = re.compile(r"Traceback \(most recent call last\)|^\s*[A-Z]\w*(?:Error|Exception): ", re.M)
ERROR_CLASSES = {"traceback", "stderr"}
SCREENSHOT_PAGES = ("intro.html", "executed/decorrelation.html", "results.html")
SKIPPED_DIRS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static"}


@dataclasses.dataclass(frozen=True)
class Problem:
    page: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.detail}"


@dataclasses.dataclass
class Page:
    """What a rendered page holds, as far as the checks go."""
    prose: list[str] = dataclasses.field(default_factory=list)         # visible text outside code
    outputs: list[str] = dataclasses.field(default_factory=list)       # text of notebook outputs
    cells: list[str] = dataclasses.field(default_factory=list)         # table cells
    images: list[dict] = dataclasses.field(default_factory=list)       # attrs + "in_output"
    links: list[tuple[str, str]] = dataclasses.field(default_factory=list)   # (tag, url)
    remote: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (tag, url)
    ids: set[str] = dataclasses.field(default_factory=set)
    error_blocks: list[str] = dataclasses.field(default_factory=list)  # classes of error outputs
    math_typeset: int = 0                                              # mjx-container elements


class _Reader(HTMLParser):
    """A serialised DOM (Chromium's --dump-dom: every element closed) into a `Page`."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[tuple[str, set[str]]] = []
        self.cell: list[str] | None = None

    def _inside(self, tags: set[str]) -> bool:
        return any(tag in tags for tag, _ in self.stack)

    def _in_output(self) -> bool:
        return any("cell_output" in classes or "output" in classes for _, classes in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        classes = set(attrs.get("class", "").split())
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.page.ids.add(attrs[key])
        if tag == "mjx-container":
            self.page.math_typeset += 1
        if classes & ERROR_CLASSES and not self._inside({"mjx-container"}):
            self.page.error_blocks.append(" ".join(sorted(classes)))
        if tag == "img":
            self.page.images.append({**attrs, "in_output": self._in_output()})
        elif tag == "a" and "href" in attrs:
            self.page.links.append(("a", attrs["href"]))
        elif tag == "link" and attrs.get("href") and {"stylesheet", "icon", "preload"} & set(attrs.get("rel", "").split()):
            self.page.links.append(("link", attrs["href"]))
        elif tag == "script" and attrs.get("src"):
            self.page.links.append(("script", attrs["src"]))
        if tag in ("td", "th"):
            self.cell = []
        if tag not in VOID:
            self.stack.append((tag, classes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        for i in range(len(self.stack) - 1, -1, -1):   # tolerate a stray end tag in hand-made HTML
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        if tag in ("td", "th") and self.cell is not None:
            self.page.cells.append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if not data.strip() or self._inside(NOT_READ):
            return
        if self.cell is not None:
            self.cell.append(data)
        if self._in_output() and not self._inside({"mjx-container"}):
            self.page.outputs.append(data)
        if not self._inside(NOT_PROSE):
            self.page.prose.append(data)


def read_dom(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page


_ids_cache: dict[Path, set[str]] = {}


def _ids_of(path: Path) -> set[str]:
    if path not in _ids_cache:
        _ids_cache[path] = read_dom(path.read_text(errors="replace")).ids
    return _ids_cache[path]


def _data_uri_empty(url: str) -> bool:
    return not url.partition(",")[2].strip()


def _image_problems(page: Page, path: Path):
    """(kind, detail) for each image of the page that is missing, remote or without alt text."""
    for image in page.images:
        src = image.get("src", "")
        if not src:
            yield "broken image", "<img> without src"
        elif src.startswith("data:"):
            if _data_uri_empty(src):
                yield "broken image", "empty data: URI"
        elif urlsplit(src).scheme in ("http", "https"):
            yield "remote resource", f"image {src} is fetched from the network at view time"
        else:
            target = (path.parent / unquote(urlsplit(src).path)).resolve()
            if not target.is_file() or target.stat().st_size == 0:
                yield "broken image", f"{src} (no such file, or empty)"
        alt = image.get("alt", "").strip()
        if image["in_output"] and (not alt or alt == src or alt == Path(urlsplit(src).path).name):
            yield "no alt text", f"output image {src[:60]}"


def _link_problems(page: Page, path: Path):
    """(kind, detail) for each link or resource of the page that is broken or fetched from the network."""
    for tag, url in page.links:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "mailto", "javascript") or url.startswith("//"):
            if tag != "a":
                yield "remote resource", f"<{tag}> {url} is fetched from the network at view time"
            continue
        if parts.scheme == "data":
            if _data_uri_empty(url):
                yield "broken link", f"<{tag}> with an empty data: URI"
            continue
        if parts.scheme and parts.scheme != "file":
            continue
        if not parts.path:   # an anchor on this page
            if parts.fragment and unquote(parts.fragment) not in page.ids:
                yield "broken link", f"#{parts.fragment} (no such anchor on this page)"
            continue
        target = (path.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            yield "broken link", f"<{tag}> {url} (no such file)"
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids_of(target):
            yield "broken link", f"{url} (no such anchor in {target.name})"


def check_page(page: Page, path: Path, site: Path, console: str = "") -> list[Problem]:
    """Every problem of one rendered page (`path`: its file in the site `site`)."""
    found = [*_image_problems(page, path), *_link_problems(page, path)]
    for text in page.prose:
        for match in RAW_TEX.finditer(text):
            start = max(match.start() - 30, 0)
            found.append(("raw TeX", repr(text[start:match.end() + 30].strip())))
    found += [("error output", f"an output block of class {classes!r}") for classes in page.error_blocks]
    for text in page.outputs:
        for match in ERROR_LINE.finditer(text):
            found.append(("error output", repr(text[match.start():].strip().splitlines()[0][:120])))
    found += [("nan in a table", f"a cell reads {cell!r}") for cell in page.cells if cell.lower() in MISSING_VALUES]
    found += [("failed to load", line.strip()[-160:]) for line in console.splitlines()
              if "Failed to load resource" in line or "ERR_FILE_NOT_FOUND" in line]
    name = path.relative_to(site).as_posix()
    return [Problem(name, kind, detail) for kind, detail in found]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _chromium(browser: str, url: str, extra: list[str], budget_ms: int, timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="sitecheck-") as profile:
        command = [browser, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                   "--disable-extensions", "--disable-background-networking", "--disable-sync",
                   "--host-resolver-rules=MAP * ~NOTFOUND",     # offline: no host name resolves
                   f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                   "--enable-logging=stderr", "--v=0", *extra, url]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")   # Chromium refuses to run as root with its sandbox
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def render(browser: str, path: Path, budget_ms: int = 8000, timeout: float = 120, fragment: str = "") -> tuple[str, str]:
    """(the page's DOM after its scripts ran, Chromium's console log); `fragment`: '#...' after its URL."""
    done = _chromium(browser, path.resolve().as_uri() + fragment, ["--dump-dom"], budget_ms, timeout)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"chromium could not render {path} (exit {done.returncode}): {done.stderr[-500:]}")
    return done.stdout, done.stderr


def screenshot(browser: str, path: Path, out: Path, size: str = "1280,1800", budget_ms: int = 8000) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _chromium(browser, path.resolve().as_uri(),
                     [f"--screenshot={out.resolve()}", f"--window-size={size}", "--hide-scrollbars"], budget_ms, 120)
    if not out.is_file():
        raise RuntimeError(f"chromium made no screenshot of {path}: {done.stderr[-500:]}")


# ------------------------------------------------------------------------------- the alpha explorer
EXPLORER_PAGE = "executed/explorer.html"


def _explorer_spec(text: str) -> dict:
    """The vega-lite spec an explorer page embeds (explorer.html)."""
    match = re.search(r'<script type="application/json" id="alpha-explorer-spec">(.*?)</script>', text, re.S)
    if match is None:
        raise ValueError("the page embeds no alpha-explorer spec")
    return json.loads(match.group(1).replace("<\\/", "</"))


def _shown(dom: str, spec: dict, setting: tuple) -> list[str]:
    """What of `setting` (penalty, n, alpha index) the DOM does not show: its text lines (the
    record's numbers) and its reconstructions' image."""
    from html import escape

    start, end = dom.find('id="alpha-explorer"'), dom.find('id="alpha-explorer-spec"')
    dom = dom[start:end] if 0 <= start < end else ""          # the chart, not the data the page embeds
    rows = [row for rows in spec["datasets"].values() for row in rows]
    texts = [r["text"] for r in rows if "text" in r and (r["penalty"], r["n"], r["alpha_index"]) == setting]
    urls = [r["url"] for r in rows if "url" in r and (r["penalty"], r["n"], r["alpha_index"], r["row"]) == (*setting, 1)]
    return [repr(t) for t in texts if escape(t, quote=False) not in dom] + [
        "its reconstructions' image" for url in urls if url not in dom] + (["its numbers"] if not texts else [])


def explorer_problems(site: Path, browser: str, budget_ms: int = 8000) -> list[Problem]:
    """Drive the alpha explorer as a reader would: open it at a setting A other than its default
    (the URL moves the inputs and fires their events) and check that A then shows that setting's
    numbers and reconstructions, from the data the page embeds, and did not show them before."""
    path = site / EXPLORER_PAGE
    if not path.is_file():
        return []
    spec = _explorer_spec(path.read_text())
    params = {p["name"]: p for p in spec["params"]}
    penalty = next(o for o in params["penalty_A"]["bind"]["options"] if o not in ("standard", params["penalty_A"]["value"]))
    top = params["alpha_A"]["bind"]["options"][-1]
    setting = (penalty, params["n_A"]["bind"]["options"][-1], top if params["alpha_A"]["value"] != top else 0)
    fragment = f"#penalty_A={setting[0]}&n_A={setting[1]}&alpha_A={setting[2]}"
    moved, _ = render(browser, path, budget_ms, fragment=fragment)
    before, _ = render(browser, path, budget_ms)
    problems = [("explorer not drawn", f"{name} has no data-ready mark") for name, dom in (("the page", before),
                (fragment, moved)) if 'data-ready="1"' not in dom]
    problems += [("explorer did not update", f"at {fragment} it does not show {what}") for what in _shown(moved, spec, setting)]
    if not _shown(before, spec, setting):
        problems.append(("explorer did not update", f"the default setting already shows {setting}"))
    return [Problem(EXPLORER_PAGE, kind, detail) for kind, detail in problems]


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of a built site (not Sphinx's own asset folders)."""
    return sorted(p for p in site.rglob("*.html") if not SKIPPED_DIRS & set(p.relative_to(site).parts[:-1]))


def check_site(site: Path, browser: str, workers: int = 2, budget_ms: int = 8000) -> tuple[list[Path], list[Problem]]:
    pages = site_pages(site)

    def one(path: Path) -> list[Problem]:
        try:
            dom, console = render(browser, path, budget_ms)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return [Problem(path.relative_to(site).as_posix(), "not rendered", str(exc)[:300])]
        return check_page(read_dom(dom), path, site, console)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = [p for found in pool.map(one, pages) for p in found]
    return pages, problems + explorer_problems(site, browser, budget_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", type=Path, help="a built site's HTML folder (holding index.html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for the screenshots")
    parser.add_argument("--screenshot-pages", nargs="*", default=list(SCREENSHOT_PAGES),
                        help="pages to photograph, relative to the site (missing ones are skipped)")
    parser.add_argument("--budget-ms", type=int, default=8000, help="virtual time a page gets to run its scripts")
    parser.add_argument("--workers", type=int, default=2, help="Chromium processes at once")
    args = parser.parse_args(argv)
    browser = find_chromium()
    if browser is None:
        print("error: no chromium on PATH; install Debian's package: apt-get install -y chromium "
              "(make chromium)", file=sys.stderr)
        return 2
    if not (args.site / "index.html").is_file():
        print(f"error: no built site at {args.site} (no index.html); build it first (make testbook)",
              file=sys.stderr)
        return 2
    pages, problems = check_site(args.site, browser, args.workers, args.budget_ms)
    if args.screenshots:
        for name in args.screenshot_pages:
            page = args.site / name
            if page.is_file():
                out = args.screenshots / (name.replace("/", "_").removesuffix(".html") + ".png")
                screenshot(browser, page, out, budget_ms=args.budget_ms)
                print(f"[sitecheck] screenshot {out}")
    if problems:
        print(f"[sitecheck] {len(problems)} problem(s) on {len({p.page for p in problems})} of "
              f"{len(pages)} pages of {args.site}:", file=sys.stderr)
        for found in problems:
            print(f"  {found}", file=sys.stderr)
        return 1
    print(f"[sitecheck] {len(pages)} pages of {args.site}: no raw TeX, broken images or links, "
          f"errors or nan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
