"""The analyst pages: a static single-page app served at `/` and `/pages/{page}`, and the one data route only it
needs (`GET /indicators/facets`). Everything the pages show comes from the indicator API and the catalog.

The pages load nothing from outside the service: the chart library (Apache ECharts, installed from the npm
registry by `make install` into `node_modules/` beside this file) and the page's own files are served here, and a
Content-Security-Policy of `'self'` makes the browser refuse anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from services.common.clickhouse import ClickHouse
from services.common.errors import StoreError

from ..api import Answer, AnswerCache, ApiThreads, json_bytes, target_of
from ..catalog import TOPICS
from ..queries import BadRequest, FacetsQuery, parse

HERE: Final = Path(__file__).parent
STATIC: Final = HERE / "static"
ECHARTS: Final = HERE / "node_modules" / "echarts" / "dist" / "echarts.common.min.js"
"""ECharts' common build: the line, bar and scatter charts, grid, legend, tooltip and data zoom the pages draw with,
in 715 kB instead of the full build's 1.1 MB (less for the browser to compile before the first chart)."""
PAGES: Final = ("overview", *TOPICS)
"""Page names reachable at `/pages/{page}`; `/` is the overview."""
ASSETS: Final[dict[str, tuple[Path, str]]] = {
    "app.js": (STATIC / "app.js", "text/javascript; charset=utf-8"),
    "app.css": (STATIC / "app.css", "text/css; charset=utf-8"),
    "echarts.common.min.js": (ECHARTS, "text/javascript; charset=utf-8"),
}
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
FACETS_SQL: Final = """
SELECT period_kind, dimension, groupUniqArray(category), min(period), max(period)
FROM indicators
WHERE indicator = %(indicator)s
GROUP BY period_kind, dimension
ORDER BY period_kind, dimension
"""


class PagesUnavailable(RuntimeError):
    """The page's front-end files are not installed (`make install` runs `npm ci`)."""


def check_assets() -> None:
    """Raise PagesUnavailable naming the missing file and the command that installs it."""
    for name, (path, _) in ASSETS.items():
        if not path.is_file():
            raise PagesUnavailable(f"{name} missing at {path}: run `make install` (npm ci in {HERE})")


def facets(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Rows of FACETS_SQL → {period_kind: {"dimensions": [...], "categories": [...], "from": date, "to": date}}."""
    out: dict[str, dict[str, Any]] = {}
    for kind, dimension, categories, first, last in rows:
        entry = out.setdefault(kind, {"dimensions": [], "categories": set(), "from": first, "to": last})
        entry["dimensions"].append(dimension)
        entry["categories"].update(categories)
        entry["from"], entry["to"] = min(entry["from"], first), max(entry["to"], last)
    return {
        kind: {
            "dimensions": entry["dimensions"],
            "categories": sorted(entry["categories"], key=_category_order),
            "from": entry["from"].isoformat(),
            "to": entry["to"].isoformat(),
        }
        for kind, entry in out.items()
    }


def _category_order(category: str) -> tuple[int, int, str]:
    """The empty category (every category) first, day marks in number order, the rest by name."""
    if not category:
        return (0, 0, "")
    if category.isdigit():
        return (1, int(category), "")
    return (2, 0, category)


def routes(store: ClickHouse, *, cache: AnswerCache | None = None, threads: ApiThreads | None = None) -> list[Route]:
    """`/`, `/pages/{page}`, `/static/{asset}` and `/indicators/facets`. A facets answer is asked of ClickHouse on
    `threads` (the read API's pool; default a pool of 1) and kept in `cache` (the read API's, invalidated after every
    refresh) when given: every topic page asks for one before anything else, and it changes only with a publish."""
    keep = cache or AnswerCache(0)
    pool = threads or ApiThreads(1)

    async def page(request: Request) -> Response:
        name = request.path_params.get("page", "overview")
        if name not in PAGES:
            return JSONResponse({"error": f"unknown page {name!r}; pages: {', '.join(PAGES)}"}, status_code=404)
        return FileResponse(
            STATIC / "index.html",
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
        )

    async def asset(request: Request) -> Response:
        found = ASSETS.get(request.path_params["asset"])
        if found is None:
            return JSONResponse({"error": "no such file"}, status_code=404)
        try:
            check_assets()
        except PagesUnavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        path, media_type = found
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})

    async def indicator_facets(request: Request) -> Response:
        try:
            name = parse(FacetsQuery, request.query_params).indicator
        except BadRequest as exc:
            return JSONResponse(exc.body(), status_code=400)

        def answer() -> Answer:
            rows = store.query_rows(FACETS_SQL, {"indicator": name})
            return Answer(json_bytes({"indicator": name, "period_kinds": facets(rows)}), "application/json")

        try:
            found = await keep.answer(target_of(request), lambda: pool.run(answer))
        except StoreError:
            return JSONResponse(
                {"error": "ClickHouse is unavailable; try again shortly"}, status_code=503, headers={"Retry-After": "5"}
            )
        return found.response()

    return [
        Route("/", page),
        Route("/pages/{page}", page),
        Route("/static/{asset}", asset),
        Route("/indicators/facets", indicator_facets),
    ]
