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
