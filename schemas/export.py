"""Write the JSON Schema of every registered event type to ``schemas/json/<event_type>.schema.json``.

Run with ``python -m schemas.export``; the output is deterministic (sorted keys, UTF-8, trailing newline)
so a test can compare the committed files with freshly generated ones.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from pydantic import BaseModel

from schemas.registry import REGISTRY

JSON_DIR: Final = Path(__file__).parent / "json"
_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def render(event_type: str, model: type[BaseModel]) -> str:
    """The schema text of one event type."""
    schema = {"$schema": _DIALECT, "$id": f"{event_type}.schema.json", **model.model_json_schema()}
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """File name → schema text, for every registered type."""
    return {f"{name}.schema.json": render(name, model) for name, model in sorted(REGISTRY.items())}


def write(directory: Path = JSON_DIR) -> list[Path]:
    """Replace the ``*.schema.json`` files in ``directory`` with freshly generated ones."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.schema.json"):
        stale.unlink()
    written = []
    for name, text in generate().items():
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m schemas.export``."""
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
