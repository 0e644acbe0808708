"""The analyst pages in Debian's Chromium: time to each page's first full render, and every data call behind it.

Each load opens a fresh browser context (empty cache: an analyst's first visit) against a warm service, after one
discarded warm-up load per page. Times run from navigation start (`performance.now()`'s origin), recorded in the
page by a MutationObserver: "data-ready" when the page sets `#main[data-ready='1']` (its data is in and every element
placed); "first screen drawn", the page's first full render and the target, is the animation frame after it, where
the charts in the first screen (the cards' and side-by-side charts queued before it) are drawn; "all drawn" when the
page sets `#main[data-drawn='1']`, once it has drawn the charts below the first screen in idle time. The viewport is
1400 × 900, the browser tests' own. Every data URL the pages
asked for is then replayed one at a time over one kept-alive connection and timed per call kind: as the pages
asked for it (a service that keeps answers serves the repeats from memory), and for `/indicators` also with a
`limit` it was never asked with (same rows, but no kept answer: the cost of the first call after a publication).

`python -m bench.pages http://127.0.0.1:8082 [--loads N]` measures a service already running.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from services.metrics.catalog import TOPICS

from .report import Figure, Report, Target

CHROMIUM = Path(os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")
PAGE_TARGET_MS = 1000.0
CALL_TARGET_MS = 100.0
NOT_DATA = ("/static/", "/pages/")
LOAD_TIMEOUT_MS = 30_000
FRESH_ABOVE = 1_000
"""Fresh variants only for a `limit` of at least this (the pages ask for 100,000; no page holds that many rows)."""
WATCH_READY = """
(() => {
  let ready = false;
  new MutationObserver((changes, observer) => {
    const main = document.getElementById("main");
    if (!main) return;
    if (!ready && main.dataset.ready === "1") {
      ready = true;
      window.__benchReady = performance.now();
      requestAnimationFrame(() => {
        window.__benchDrawn = performance.now();
        document.documentElement.dataset.benchDrawn = "1";
      });
    }
    if (ready && main.dataset.drawn === "1") {
      window.__benchAll = performance.now();
      document.documentElement.dataset.benchAll = "1";
      observer.disconnect();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready", "data-drawn"] });
})();
"""


class PageFailed(RuntimeError):
    """A page showed its load-failed state instead of its data."""


@dataclass
class Loads:
    """Per page: data-ready, first-screen-drawn and all-drawn times (ms from navigation start); every data URL the
    pages requested."""

    ready: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    drawn: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    all_drawn: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    urls: set[str] = field(default_factory=set)
    in_page: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """Data call kind → ms from request start to response end as the page saw it (beside its other calls)."""
    first: dict[str, float] = field(default_factory=dict)
    """Page → ms to data-ready of its untimed warm-up load (the service's first answers to it)."""


@dataclass
class Calls:
    """Replayed data calls, ms by call kind."""

    served: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """Each URL as the pages asked for it, `repeats` times."""
    fresh: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """`/indicators` URLs with a `limit` no one asked before, so no kept answer serves them."""


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile (the maximum of 10 samples or fewer)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def page_urls(base: str, first_district: str | None) -> dict[str, str]:
    """Page name → URL: the overview, each topic page, and a turnover trend drilled into the first district."""
    urls = {"overview": f"{base}/", **{topic: f"{base}/pages/{topic}" for topic in TOPICS}}
    if first_district:
        urls["turnover, drilled into " + first_district] = (
            f"{base}/pages/turnover?dimension=org&unit={first_district}&view=chart"
        )
    return urls


def first_district(base: str) -> str | None:
    split = urlsplit(base)
    conn = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port or 80, timeout=30)
    try:
        conn.request("GET", "/org-units")
        units: list[dict[str, Any]] = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    districts = sorted(u["unit_id"] for u in units if u.get("level") == "district")
    return districts[0] if districts else None


def load_pages(urls: dict[str, str], loads: int) -> Loads:
    """`loads` timed loads of every page (round-robin, after one warm-up each) in headless Chromium."""
    from playwright.sync_api import sync_playwright

    found = Loads()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            for round_ in range(loads + 1):
                for name, url in urls.items():
                    ready, drawn, all_drawn, calls = _load(browser, url, found.urls)
                    if not round_:
                        found.first[name] = ready
                    else:
                        found.ready[name].append(ready)
                        found.drawn[name].append(drawn)
                        found.all_drawn[name].append(all_drawn)
                        for call, ms in calls:
                            found.in_page[call_kind(call)].append(ms)
        finally:
            browser.close()
    return found


def _load(browser: Any, url: str, requested: set[str]) -> tuple[float, float, float, list[tuple[str, float]]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.add_init_script(WATCH_READY)
        page.on("request", lambda request: requested.add(request.url))
        page.goto(url, wait_until="commit")
        # a selector, not wait_for_function: the pages' CSP forbids the eval Playwright's predicates need
        page.wait_for_selector(
            "html[data-bench-drawn][data-bench-all], #main[data-ready='error']", timeout=LOAD_TIMEOUT_MS
        )
        if page.get_attribute("#main", "data-ready") == "error":
            raise PageFailed(f"{url}: {page.inner_text('#status')}")
        ready, drawn, all_drawn, calls = page.evaluate(
            "[window.__benchReady, window.__benchDrawn, window.__benchAll, performance.getEntriesByType('resource')"
            ".map((e) => [e.name, e.responseEnd - e.startTime])]"
        )
        data = [(name, float(ms)) for name, ms in calls if _data(url, name)]
        # the last chart below the first screen may be drawn before the first screen's frame has painted
        return float(ready), float(drawn), max(float(drawn), float(all_drawn)), data
    finally:
        context.close()


def call_kind(url: str) -> str:
    """The route, and for indicator data which indicator, period kind, dimension and category it asks for."""
    split = urlsplit(url)
    query = {k: ",".join(v) for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    if split.path == "/indicators/facets":
        return f"{split.path} {query.get('indicator', '')}"
    if split.path != "/indicators":
        return split.path
    parts = [query.get(k, "") for k in ("indicator", "period_kind", "dimension")]
    if query.get("category", "").strip(","):
        parts.append(f"[{query['category']}]")
    slices = len(parse_qs(split.query).get("slice", []))
    kind = f"/indicators {' '.join(parts)}" + (f" ({slices} slices)" if slices > 1 else "")
    return kind + (" next page" if "cursor" in query else "")


def fresh_variant(url: str, n: int) -> str | None:
    """`url` with its `limit` lowered by n + 1 (the same rows while fewer than the limit come back), or None when
    it is not an `/indicators` call with a limit high enough to stay above any page's rows."""
    split = urlsplit(url)
    query = parse_qs(split.query, keep_blank_values=True)
    if split.path != "/indicators" or len(query.get("limit", [])) != 1 or int(query["limit"][0]) < FRESH_ABOVE:
        return None
    query["limit"] = [str(int(query["limit"][0]) - n - 1)]
    return split._replace(query=urlencode(query, doseq=True)).geturl()


def replay(base: str, urls: set[str], repeats: int) -> Calls:
    """Each data URL `repeats` times as asked and, where it has one, `repeats` fresh variants; one at a time over
    one kept-alive connection."""
    split = urlsplit(base)
    conn = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port or 80, timeout=30)
    calls = Calls()
    try:
        for url in sorted(urls):
            kind = call_kind(url)
            for n in range(repeats):
                calls.served[kind].append(_timed(conn, url))
                if (variant := fresh_variant(url, n)) is not None:
                    calls.fresh[kind].append(_timed(conn, variant))
    finally:
        conn.close()
    return calls


def _timed(conn: http.client.HTTPConnection, url: str) -> float:
    target = urlsplit(url)
    path = target.path + (f"?{target.query}" if target.query else "")
    begin = time.perf_counter()
    conn.request("GET", path, headers={"Accept": "application/json"})
    response = conn.getresponse()
    response.read()
    ms = (time.perf_counter() - begin) * 1000
    if response.status != 200:
        raise PageFailed(f"{path}: HTTP {response.status}")
    return ms


def _data(page: str, url: str) -> bool:
    """A call to the service behind `page` for data (not the page itself, nor its scripts and styles)."""
    base, path = urlsplit(page), urlsplit(url)
    same = (base.scheme, base.netloc) == (path.scheme, path.netloc)
    return same and path.path != "/" and not any(path.path.startswith(prefix) for prefix in NOT_DATA)


def measure(base: str, report: Report, scale: str, *, loads: int = 10, repeats: int = 20) -> None:
    """Add page-load and data-call figures and both targets for the service at `base`; never raises for a
    missing browser or a failed page (the targets then say why nothing was measured)."""
    if not CHROMIUM.exists():
        unmeasured(report, scale, f"not measured: no Chromium at {CHROMIUM} (`make install` installs Debian's package)")
        return
    from playwright.sync_api import Error as PlaywrightError

    try:
        found = load_pages(page_urls(base, first_district(base)), loads)
        calls = replay(base, {u for u in found.urls if _data(base, u)}, repeats)
    except (PlaywrightError, PageFailed, OSError) as exc:
        unmeasured(report, scale, f"not measured: {str(exc).splitlines()[0][:200]}")
        return
    _page_figures(report, found, scale, _page_target(scale))
    _call_figures(report, calls, found.in_page, scale, _call_target(scale))


def unmeasured(report: Report, scale: str, why: str) -> None:
    """Both targets at `scale`, with no value and the reason."""
    report.targets.append(Target(_page_target(scale), None, "<=", PAGE_TARGET_MS, "ms", why))
    report.targets.append(Target(_call_target(scale), None, "<=", CALL_TARGET_MS, "ms", why))


def _page_target(scale: str) -> str:
    return f"page first full render p95, slowest page ({scale})"


def _call_target(scale: str) -> str:
    return f"page data call p95, slowest call ({scale})"


def _page_figures(report: Report, found: Loads, scale: str, target: str) -> None:
    """One figure per page, its first full render (first screen drawn) p95; data-ready and all-drawn in its note."""
    worst = (0.0, "")
    for name, drawn in found.drawn.items():
        ready = found.ready[name]
        note = (
            f"p50 {statistics.median(drawn):.0f} ms; data-ready p95 {p95(ready):.0f} ms; every chart drawn p95"
            f" {p95(found.all_drawn[name]):.0f} ms; {len(drawn)} loads, each in a fresh browser context; first"
            f" load {found.first[name]:.0f} ms to data-ready"
        )
        report.add(Figure(f"pages, {scale}", name, p95(drawn), "ms p95", note=note))
        worst = max(worst, (p95(drawn), name))
    report.targets.append(Target(target, worst[0], "<=", PAGE_TARGET_MS, "ms"))
    slowest_ready = max(p95(r) for r in found.ready.values())
    every = max(p95(d) for d in found.all_drawn.values())
    report.notes.append(
        f"page load at {scale}: slowest page {worst[1]} p95 {worst[0]:.0f} ms to its first screen drawn; slowest"
        f" p95 to data-ready {slowest_ready:.0f} ms, to every chart drawn {every:.0f} ms (headless Chromium,"
        f" 1400 × 900, navigation start → the frame after #main[data-ready='1']; the timed loads follow a warm-up"
        f" load of each page, whose data-ready is each figure's 'first load'; 1-minute load average"
        f" {os.getloadavg()[0]:.1f})"
    )


def _call_figures(report: Report, calls: Calls, in_page: dict[str, list[float]], scale: str, target: str) -> None:
    """One figure per call kind: the p95 without a kept answer where the call has a fresh variant (what the first
    caller after a publication waits), else as asked; the other and the in-page p95 in its note."""
    ranked = sorted(
        ((p95(calls.fresh.get(kind) or served), kind) for kind, served in calls.served.items()), reverse=True
    )
    for value, kind in ranked:
        served, fresh = calls.served[kind], calls.fresh.get(kind)
        asked = f"p95 {p95(served):.1f} / p50 {statistics.median(served):.1f} ms as asked, {len(served)} calls"
        note = f"no kept answer (fresh limit), p50 {statistics.median(fresh):.1f} ms; {asked}" if fresh else asked
        if in_page.get(kind):
            note += f"; in the page, beside its other calls: p95 {p95(in_page[kind]):.0f} ms"
        report.add(Figure(f"page data calls, {scale}", kind, value, "ms p95", note=note))
    report.targets.append(Target(target, ranked[0][0] if ranked else None, "<=", CALL_TARGET_MS, "ms", "no calls"))
    report.notes.append(
        f"page data calls at {scale}: {len(calls.served)} kinds, each URL replayed one at a time as asked and, for"
        f" /indicators, with a limit never asked (no kept answer); slowest {ranked[0][1]} {ranked[0][0]:.0f} ms;"
        f" 1-minute load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        if ranked
        else f"page data calls at {scale}: the pages requested no data"
    )


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__)
    parser.add_argument("base", help="the metrics service, e.g. http://127.0.0.1:8082")
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    report = Report(events=0, quick=False)
    measure(args.base.rstrip("/"), report, "given service", loads=args.loads, repeats=args.repeats)
    out(report.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
