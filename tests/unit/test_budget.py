"""The budget table: recorded by the runs, shown against the limits, written into the README."""

import pytest

from scalelab.bench import budget
from scalelab.config import Config


@pytest.fixture
def cfg(tmp_path):
    return Config.load(root=tmp_path, environ={"SCALELAB_RESULTS_DIR": str(tmp_path / "results"),
                                              "SCALELAB_STATE_DIR": str(tmp_path / "state")})


def test_the_last_value_of_each_measurement_is_shown_against_its_budget(cfg):
    assert "not recorded yet" in budget.table(cfg)
    budget.record(cfg, "make up", 41.0, "s", "default profile")
    budget.record(cfg, "make up", 28.4, "s", "default profile")          # the last one counts
    budget.record(cfg, "idle PSS", 2.13, "GiB", "10 core services")
    budget.record(cfg, "make test", 24 * 60 + 6, "s")
    budget.record(cfg, "tier unit", 80.5, "s", "340 tests, exit 0")
    budget.record(cfg, "tier stack (compose)", 300, "s", "61 tests, exit 0")
    lines = {line.split("|")[1].strip().split(":")[0]: line for line in budget.table(cfg).splitlines()[2:]}
    assert "28.4 s (within)" in lines["make up"] and "| 30.0 s |" in lines["make up"]
    assert "2.13 GiB (**over**)" in lines["idle PSS"] and "1.50 GiB" in lines["idle PSS"]
    assert "24:06 min (**over**)" in lines["make test"]
    assert "not recorded yet" in lines[".ci/run"]
    assert "340 tests" in lines["tests/unit"] and "1:20" not in lines["tests/unit"]
    assert "5:00 min" in lines["tests/stack (compose)"]


def test_a_measurement_needs_a_name_and_a_known_unit(cfg):
    with pytest.raises(ValueError, match="unit"):
        budget.record(cfg, "make up", 1, "minutes")
    with pytest.raises(ValueError):
        budget.record(cfg, "", 1, "s")


def test_the_readme_table_is_replaced_between_its_markers_and_nothing_else(cfg, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\nbefore\n{budget.README_START}\nold typed figures\n{budget.README_END}\nafter\n")
    budget.record(cfg, ".ci/run", 2038, "s")
    budget.write_readme(cfg, readme)
    text = readme.read_text()
    assert text.startswith("# title\nbefore\n") and text.endswith(f"{budget.README_END}\nafter\n")
    assert "old typed figures" not in text and "33:58 min (within)" in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        budget.write_readme(cfg, readme)


def test_the_readme_has_the_budget_table_and_it_is_the_generated_kind(cfg):
    # The committed table is what `scalelab budget --readme` wrote: every budget has its row.
    text = (Config.load().root / "README.md").read_text()
    block = text.split(budget.README_START, 1)[1].split(budget.README_END, 1)[0]
    for b in budget.BUDGETS:
        assert f"| {b.measurement}: {b.what} |" in block, b.measurement
