"""What a demonstration returns: the numbers behind a model answer, and the claims they settle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Claim:
    text: str
    holds: bool


@dataclass
class Demo:
    numbers: dict[str, Any]
    claims: list[Claim] = field(default_factory=list)

    def failed(self) -> list[Claim]:
        return [c for c in self.claims if not c.holds]
