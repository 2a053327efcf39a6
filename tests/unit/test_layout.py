"""The test tree's own rules."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_modules_have_unique_names():
    # pytest imports test modules by basename (rootdir-relative "prepend" mode, no __init__.py):
    # two test_x.py in different folders fail the whole collection when run together.
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
