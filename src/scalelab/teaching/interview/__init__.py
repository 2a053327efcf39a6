"""The interview question bank: labs/interview/NN_slug.md, each with a model answer and a demonstration.

A question file is plain markdown, readable on its own:

    # Why is a NumPy array faster than a Python list?
    topic: numpy
    demo: arrays_vs_lists

    ## Model answer
    ...

Its demonstration (a function in `scalelab.teaching.interview.demos`) runs on this lab's data and
returns the numbers behind the answer and the claims they settle. Claims are things
that are true on any machine (memory, correctness, which model is better on this data);
timings are shown as numbers and never asserted. `scalelab quiz` serves the questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from scalelab.config import Config
from scalelab.teaching.interview.claims import Claim, Demo

__all__ = ["Claim", "Demo", "Question", "QuestionError", "find", "parse", "questions"]


class QuestionError(ValueError):
    """A question file that does not follow the format above (the message names the file)."""


@dataclass
class Question:
    id: str                  # the file's stem: "01_numpy_arrays_vs_lists"
    title: str
    topic: str
    demo: str
    answer: str
    path: Path

    def run_demo(self, scale: str = "tiny") -> Demo:
        from scalelab.teaching.interview import demos

        return demos.DEMOS[self.demo](scale)


def bank_dir(cfg: Config | None = None) -> Path:
    return (cfg or Config.load()).root / "labs" / "interview"


_HEADER = re.compile(r"^(topic|demo):\s*(\S.*)$", re.MULTILINE)


def parse(path: Path) -> Question:
    text = path.read_text()
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise QuestionError(f"{path.name}: the first line must be '# <the question>'")
    fields = dict(_HEADER.findall(text.split("## Model answer")[0]))
    for name in ("topic", "demo"):
        if name not in fields:
            raise QuestionError(f"{path.name}: no '{name}:' line under the question")
    if "## Model answer" not in text:
        raise QuestionError(f"{path.name}: no '## Model answer' section")
    answer = text.split("## Model answer", 1)[1].strip()
    from scalelab.teaching.interview.demos import DEMOS

    if fields["demo"] not in DEMOS:
        raise QuestionError(f"{path.name}: demo {fields['demo']!r} is not one of {sorted(DEMOS)}")
    return Question(path.stem, lines[0][2:].strip(), fields["topic"].strip(), fields["demo"].strip(), answer, path)


def questions(root: Path | None = None, topic: str | None = None) -> list[Question]:
    found = [parse(p) for p in sorted((root or bank_dir()).glob("[0-9][0-9]_*.md"))]
    return [q for q in found if topic is None or q.topic == topic]


def find(key: str, root: Path | None = None) -> Question:
    """A question by its number ("3", "03") or its file stem."""
    for q in questions(root):
        if key in (q.id, q.id[:2], q.id[:2].lstrip("0")):
            return q
    raise QuestionError(f"no question {key!r}; `scalelab quiz --list` shows them")
