"""A page laid out by a real browser (Debian's headless Chromium): what a reader's screen shows.

The page is copied with a script that measures it once loaded (images and plots included) and
writes the figures into the DOM, which Chromium's --dump-dom prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip
MEASURE = """<script>window.addEventListener("load", () => {
  const width = document.documentElement.clientWidth, out = {viewport: width,
    scroll_width: document.documentElement.scrollWidth, tables: [], plots: [], images: []};
  for (const t of document.querySelectorAll("table")) out.tables.push({right: t.getBoundingClientRect().right,
    rows: t.rows.length, clipped: t.closest(".wide") !== null && t.scrollWidth > t.closest(".wide").clientWidth});
  for (const s of document.querySelectorAll("svg")) { const r = s.getBoundingClientRect();
    out.plots.push({width: r.width, height: r.height, right: r.right, marks: s.querySelectorAll("path").length}); }
  for (const i of document.querySelectorAll("img")) { const r = i.getBoundingClientRect();
    out.images.push({loaded: i.complete && i.naturalWidth > 0, width: r.width, right: r.right}); }
  const pre = document.createElement("pre"); pre.id = "layout"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre); });</script>"""


def layout(page: Path, width: int = 1280) -> dict[str, Any]:
    """How Chromium lays `page` out in a window `width` pixels wide; skips where there is no Chromium."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium): the page was not rendered")
    probe = page.with_name(f".measured-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>", 1)
                     if "</body>" in page.read_text(encoding="utf-8") else page.read_text(encoding="utf-8") + MEASURE,
                     encoding="utf-8")  # fmt: skip
    profile = page.parent / ".chromium-profile"
    try:
        dom = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900",
             "--virtual-time-budget=10000", "--dump-dom", probe.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
    finally:
        probe.unlink()
        shutil.rmtree(profile, ignore_errors=True)
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found, "the page never finished loading in Chromium"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
