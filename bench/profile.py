"""Where ingest spends its time: py-spy's raw (collapsed) stacks of one ingest run, summarised.

Shares are of the samples py-spy took while a thread was active (idle waits are not sampled).
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .report import RESULTS


@dataclass(frozen=True, slots=True)
class Stage:
    """A part of ingest, found by a regex over py-spy frames (`leaf`: only the innermost frame)."""

    name: str
    pattern: str
    advice: str
    leaf: bool = False

    def matches(self, frames: list[str]) -> bool:
        return any(re.search(self.pattern, frame) for frame in (frames[-1:] if self.leaf else frames))


STAGES: tuple[Stage, ...] = (
    Stage(
        "schemas.validate_many (pydantic validate_json)",
        r"(^|\.)validate_many \(",
        "pydantic's Rust validation plus a Python AfterValidator per time, date and identifier field (bounds come"
        " once per batch from `validation_context`). A Rust-only variant of the same core schema (bounds and"
        " patterns as constraints) measured no faster in one process, so the checks stay. Shared with the raw"
        " baseline",
    ),
    Stage(
        "rows.to_row (model_dump, one canonical JSON dump, sha256, cached HMAC)",
        r"(^|\.)to_row \(",
        "`model_dump` and one sorted `json.dumps` per event, the hashed document quoted by the C encoder, an"
        " EventRow named tuple that is the insert tuple; left: serialising in Rust needs alphabetical model"
        " fields and sorted amendment keys to keep content hashes byte-identical",
    ),
    Stage(
        "resolve + EventWriter.known (lookup of existing ids)",
        r"(^|\.)(known|resolve|lookup_ids) \(",
        "one query per 5,000 ids bound as a heredoc string (no per-character escaping); left: skip ids a"
        " recent-id cache has not seen",
    ),
    Stage(
        "EventWriter.write_events (clickhouse-connect insert)",
        r"(^|\.)write_events \(",
        "clickhouse-connect's Python serialisation (DateTime64 ticks per value, row→column transpose): try"
        " `column_oriented=True` with per-column lists; JSONEachRow raw insert measured slower here",
    ),
    Stage(
        "adapter.ack (per-message acks)",
        r"Adapter\.ack \(",
        "NATS: one `msg.ack()` per message (a JetStream `AckPolicy.ALL` consumer would take one per batch, but an"
        " existing durable consumer's policy cannot change); RabbitMQ already acks a batch with one"
        " `ack(multiple=True)`",
    ),
    Stage(
        "FastStream receive path (parser, middlewares, handler)",
        r"faststream/",
        "NATS and RabbitMQ no longer consume through FastStream's handler (nats_pull.py pulls; rabbit.py runs an"
        " aio-pika consumer on FastStream's connection); Redis and Kafka: FastStream's batch parser builds a"
        " correlation id and metadata per message",
    ),
    Stage(
        "waiting (event loop select, worker-thread handoff)",
        r"^(EpollSelector\.select|Condition\.wait|Event\.wait) \(",
        "time no thread did work: validation of batch N+1 already overlaps the store of batch N; what is"
        " left is waiting on ClickHouse and the broker, which share the same cores",
        leaf=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Profile:
    samples: int
    stages: list[tuple[str, float, str]]
    leaves: list[tuple[str, float]]


def available() -> bool:
    return Path(sys.executable).with_name("py-spy").exists() or shutil.which("py-spy") is not None


def read(path: Path, top: int = 15) -> Profile:
    """Inclusive share per stage (a stack counts once per stage) and the top self-time frames."""
    stacks: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            stacks[stack] += int(samples)
    total = sum(stacks.values()) or 1
    stage_samples: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = stack.split(";")
        leaves[_short(frames[-1])] += count
        for stage in STAGES:
            if stage.matches(frames):
                stage_samples[stage.name] += count
    stages = [(stage.name, stage_samples[stage.name] / total, stage.advice) for stage in STAGES]
    stages.sort(key=lambda s: -s[1])
    return Profile(total, stages, [(leaf, n / total) for leaf, n in leaves.most_common(top)])


def _short(frame: str) -> str:
    """`fn (path/to/site-packages/pkg/mod.py:12)` → `fn (pkg/mod.py:12)`."""
    return re.sub(r"\((?:.*/site-packages/|.*/main/)?", "(", frame)


def write_markdown(
    profile: Profile, *, rate: float, events: int, broker: str = "NATS", out: Path = RESULTS / "PROFILE.md"
) -> Path:
    lines = [
        f"# Where {broker} ingest spends its time",
        "",
        f"py-spy (200 Hz, non-blocking) on `python -m services.ingest.cli run` storing {events:,} events at"
        f" {rate:,.0f} events/s under the profiler; {profile.samples:,} active samples. Shares are inclusive"
        " (a stage's callees count) and can overlap, e.g. FastStream frames sit above the handler.",
        "",
        "| stage | share of active samples | what would make it cheaper |",
        "| --- | ---: | --- |",
        *[f"| {name} | {share:.0%} | {advice} |" for name, share, advice in profile.stages],
        "",
        "Top self-time frames:",
        "",
        "| frame | self share |",
        "| --- | ---: |",
        *[f"| `{leaf}` | {share:.1%} |" for leaf, share in profile.leaves],
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
