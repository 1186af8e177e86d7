"""Reading the Dockerfile's final stage, so tests run what the image runs without restating it."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Stage:
    """The instructions of one build stage that say how its container runs."""

    base: str
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    volumes: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    copies: list[list[str]] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages(path: Path = ROOT / "Dockerfile") -> list[Stage]:
    """Every stage of the Dockerfile, in order; the last is the image."""
    result: list[Stage] = []
    for keyword, rest in instructions(path.read_text()):
        if keyword == "FROM":
            result.append(Stage(base=rest))
        elif not result:
            continue
        elif keyword == "ENV":
            result[-1].env.update(item.split("=", 1) for item in shlex.split(rest))
        elif keyword == "USER":
            result[-1].user = rest
        elif keyword == "VOLUME":
            result[-1].volumes += json.loads(rest)
        elif keyword in ("ENTRYPOINT", "CMD"):
            setattr(result[-1], keyword.lower(), json.loads(rest))
        elif keyword == "HEALTHCHECK":
            result[-1].healthcheck = json.loads(rest.split(" CMD ", 1)[1])
        elif keyword == "COPY":
            result[-1].copies.append(shlex.split(rest))
    return result
