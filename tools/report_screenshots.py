"""Screenshot every page of a Snakemake report (results/report.html) in headless Chromium.

The report is a single-page React app whose data sit in page globals (``categories``:
``{category: {subcategory: [result path]}}``, ``results``: ``{path: {name, mime_type,
data_uri, caption}}``) and whose view is set through ``app.setView``, the call its own
buttons make. The script opens the report from disk (nothing is fetched), then takes,
in menu order, one PNG for:

* the landing page, the run statistics and each category's menu;
* each result the report displays (image, HTML or PDF) beside the list of its
  subcategory, as a reader sees it after pressing its eye button (``--captions``: beside
  its caption, as after the info button; the side bar then takes half the window).
  An HTML result taller or wider than its frame also gets ``*_full.png``: the whole
  page, rendered on its own, wide enough for its widest table; the console names every
  result wider than its frame.

Results the report can only offer as a download (CSV and other files) have no page; their
names are printed. Needs Playwright's Python package (``pip install playwright``) and a
Chromium (Debian: ``apt-get install chromium``); no browser download::

    python tools/report_screenshots.py results/report.html docs/figures/report
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1920, "height": 1200}
SHOWN = {"image/png": "img", "image/jpeg": "img", "image/svg+xml": "img"}
SHOWN |= {"text/html": "html", "application/pdf": "pdf"}
#: Time for React to render a view and for an iframe or image to load and lay out.
SETTLE_MS = 800


def slug(*parts: str) -> str:
    """ASCII file-name stem of a page: its menu path, lower case, dashes between words."""
    text = "_".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-").lower() for p in parts)
    return text or "page"


def shrink(png: Path) -> None:
    """Rewrite a screenshot with a 256-colour palette: a third to half the bytes."""
    with Image.open(png) as im:
        small = im.convert("RGB").quantize(256)
    small.save(png, optimize=True)


def cjk_font_missing() -> bool:
    """True where fontconfig knows no Chinese font (CJK names would show as boxes)."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
    except FileNotFoundError:
        return True
    return not found.stdout.strip()


def find_chromium() -> str:
    """Path of a Chromium executable on this machine."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    sys.exit("no Chromium found: apt-get install chromium (Debian) or put one on PATH")


class Shooter:
    """Numbered screenshots of one report page into a folder."""

    def __init__(self, page: Page, out: Path) -> None:
        self.page, self.out, self.count = page, out, 0

    def view(self, view: dict[str, Any], *parts: str) -> Path:
        """Set the report's view as its buttons do, wait for it to render, save a PNG."""
        self.to_menu()
        self.page.evaluate("v => app.setView(v)", view)
        self.page.wait_for_timeout(SETTLE_MS)
        return self.shot(*parts)

    def category(self, category: str) -> Path:
        """Open a category as its menu item does, beside the start page's content (not
        the last result shown), and save a PNG."""
        self.to_menu()
        self.page.evaluate("app.setView({content: app.content})")
        self.page.evaluate("c => app.showCategory(c)", category)
        self.page.wait_for_timeout(SETTLE_MS)
        return self.shot(category)

    def to_menu(self) -> None:
        """Back to the main menu first: the report's result list reads its entries once,
        when shown, so going straight from one list to another would show the old one."""
        self.page.evaluate("app.setView({navbarMode: 'menu'})")
        self.page.wait_for_timeout(100)

    def shot(self, *parts: str) -> Path:
        self.count += 1
        path = self.out / f"{self.count:02d}_{slug(*parts)}.png"
        self.page.screenshot(path=str(path))
        shrink(path)
        print(path)
        return path


def result_view(
    category: str, subcategory: str, path: str, entry: dict, captions: bool
) -> dict[str, Any]:
    """The view of one displayed result: beside the list of its subcategory, as after
    pressing its eye button, or with ``captions`` beside its caption (info button)."""
    return {
        "navbarMode": "resultinfo" if captions else "subcategory",
        "category": category,
        "subcategory": subcategory,
        "resultPath": path,
        "content": SHOWN[entry["mime_type"]],
        "contentPath": entry["data_uri"],
    }


#: Widest sideways overflow of any element of a page: a table scrolled or cut inside it.
SIDEWAYS_JS = (
    "Math.max(0, ...[...document.querySelectorAll('*')].map(e => e.scrollWidth - e.clientWidth))"
)


def overflow(page: Page, content: str) -> tuple[int, int, bool]:
    """(width of the result's frame, px it overflows sideways, whether it is taller)."""
    if content == "img":
        w, h, box_w, box_h = page.evaluate(
            "() => { const i = document.querySelector('img[src^=\"data:\"]');"
            " const box = i.parentElement.parentElement;"
            " return [i.naturalWidth, i.naturalHeight, box.clientWidth, box.clientHeight]; }"
        )
        return box_w, max(0, w - box_w), h > box_h
    frame = page.query_selector("iframe")
    box = frame.bounding_box()
    inner = frame.content_frame()
    sideways = max(inner.evaluate(SIDEWAYS_JS), 0)
    tall = inner.evaluate("document.documentElement.scrollHeight") > box["height"]
    return int(box["width"]), int(sideways), tall


def full_html(page: Page, entry: dict, width: int, out: Path) -> None:
    """Render an HTML result on its own, ``width`` px wide, and save it whole."""
    page.set_viewport_size({"width": width, "height": VIEWPORT["height"]})
    page.goto(entry["data_uri"])
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=str(out), full_page=True)
    shrink(out)
    print(out)


def shoot_results(shooter: Shooter, captions: bool) -> list[str]:
    """Screenshot every category menu and displayed result; return notes on the pages
    that do not fit the report's frame and on the download-only results."""
    categories = shooter.page.evaluate("categories")
    results = shooter.page.evaluate("results")
    notes, wholes = [], []
    for category in sorted(categories):
        shooter.category(category)
        for subcategory in sorted(categories[category]):
            for path in categories[category][subcategory]:
                entry = results[path]
                name = f"{category} / {subcategory} / {entry['name']}"
                if entry["mime_type"] not in SHOWN:
                    notes.append(f"download only, no page: {name}")
                    continue
                view = result_view(category, subcategory, path, entry, captions)
                png = shooter.view(view, category, subcategory, entry["name"])
                width, sideways, tall = overflow(shooter.page, view["content"])
                if sideways:
                    notes.append(f"{sideways} px too wide for its frame: {png.name}")
                if view["content"] == "html" and (sideways or tall):
                    full = png.with_name(png.stem + "_full.png")
                    wholes.append((entry, width + sideways, full))
    for entry, width, png in wholes:
        full_html(shooter.page, entry, width, png)
    return notes


def take_screenshots(report: Path, out: Path, chromium: str, captions: bool) -> list[str]:
    """Save one PNG per page of ``report`` under ``out``; return notes on what did not fit."""
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(report.resolve().as_uri())
        page.wait_for_function("typeof app !== 'undefined'")
        page.wait_for_timeout(SETTLE_MS)
        shooter = Shooter(page, out)
        shooter.shot("start")
        shooter.view({"content": "stats", "navbarMode": "menu"}, "statistics")
        notes = shoot_results(shooter, captions)
        browser.close()
    return notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path, help="the Snakemake report (report.html)")
    parser.add_argument("out", type=Path, help="folder for the PNGs")
    parser.add_argument("--chromium", help="Chromium executable (default: found on PATH)")
    parser.add_argument(
        "--captions", action="store_true", help="show each result beside its caption"
    )
    args = parser.parse_args(argv)
    if not args.report.is_file():
        sys.exit(f"{args.report}: no such report; run snakemake --report {args.report} first")
    if cjk_font_missing():
        print(
            "warning: no Chinese font (fc-list :lang=zh); Debian: apt-get install fonts-wqy-zenhei"
        )
    start = time.perf_counter()
    chromium = args.chromium or find_chromium()
    notes = take_screenshots(args.report, args.out, chromium, args.captions)
    print("\n".join(notes))
    print(f"took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
