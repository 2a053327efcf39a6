"""The labs as files: committed without outputs, every exercise with a solution and a check."""

import re

import pytest

from scalelab.teaching import grading, notebooks

LABS = notebooks.notebooks()


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_committed_without_outputs(path):
    assert notebooks.has_outputs(notebooks.read(path)) == [], (
        f"{path.name} has outputs in cells {notebooks.has_outputs(notebooks.read(path))}: clear them "
        "(Edit > Clear Outputs of All Cells) before committing")


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_each_exercise_has_a_solution_and_a_check(path):
    nb = notebooks.read(path)
    exercises = notebooks.exercises(nb)
    assert exercises, f"{path.name} has no exercise"
    sources = [c.source for c in nb.cells]
    for ex in exercises:
        grading.get(ex)  # registered, with its pandas answer
        assert notebooks.solution_path(path, ex).exists(), f"no solution for {ex}"
        assert any(re.search(rf"check\(\s*[\"']{re.escape(ex)}[\"']", s) for s in sources), \
            f"{path.name} never checks {ex}"
        assert ex.split(".")[0] == notebooks.exercise_prefix(path), f"{ex} is filed under another lab than {path.name}"


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_each_lab_opens_with_its_interview_question(path):
    first = notebooks.read(path).cells[0]
    assert first.cell_type == "markdown" and "Interview question" in first.source


def test_every_registered_exercise_is_in_a_lab():
    used = {ex for p in LABS for ex in notebooks.exercises(notebooks.read(p))}
    grading.get("01.cluster_size")
    assert set(grading.EXERCISES) - used == set()


@pytest.mark.parametrize("path", [p for p in notebooks.notebooks() if notebooks.single_machine(p)], ids=lambda p: p.stem)
def test_a_track_lab_calls_nothing_an_exclusive_lab_disrupts(path):
    # run_all lets these run beside lab 09 (which restarts the broker and kills workers).
    nb = notebooks.filled(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert [call for call in notebooks.DISRUPTED_CALLS if call in code] == []


def test_run_all_keeps_an_exclusive_lab_apart_and_never_exceeds_its_lanes(tmp_path, monkeypatch):
    import threading
    import time

    labs = [tmp_path / "labs" / f"{i:02d}_big.ipynb" for i in range(1, 6)]
    labs += [tmp_path / "labs" / "foundations" / f"{i:02d}_small.ipynb" for i in range(1, 4)]
    drill = labs[2]
    spans, lock, running = {}, threading.Lock(), [0, 0]

    def fake_execute(path, scale="tiny"):
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        start = time.monotonic()
        time.sleep(0.3 if path == drill else 0.05)
        spans[path] = (start, time.monotonic())
        with lock:
            running[0] -= 1
        if path.stem == "05_big":
            raise RuntimeError("a failing cell")
        return path.stem

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    monkeypatch.setattr(notebooks, "exclusive", lambda p: "restarts the broker" if p == drill else None)
    futures = notebooks.run_all(labs, lanes=2)
    assert [futures[p].result(timeout=10) for p in labs if p.stem != "05_big"] == [p.stem for p in labs if p.stem != "05_big"]
    with pytest.raises(RuntimeError, match="a failing cell"):
        futures[labs[4]].result(timeout=10)
    assert running[1] == 2
    d0, d1 = spans[drill]
    beside = [p for p in labs if p != drill and spans[p][0] < d1 and spans[p][1] > d0]
    assert beside and all(notebooks.single_machine(p) for p in beside), beside
