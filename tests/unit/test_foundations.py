"""The foundations track's measuring helpers."""

import sys

import numpy as np
import pandas as pd

from scalelab.teaching import foundations

LOCK = """\
numpy==2.4.6 ; python_full_version < '3.12' \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via pandas
numpy==2.5.5 ; python_full_version >= '3.12' \\
    --hash=sha256:cc
no-such-package-here==1.0 \\
    --hash=sha256:dd
"""


def test_lock_pins_reads_markers_hashes_and_what_applies_here(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK)
    pins = foundations.lock_pins(lock).set_index(["package", "locked"])
    old_python = sys.version_info < (3, 12)
    assert pins.loc[("numpy", "2.4.6"), "hashes"] == 2 and pins.loc[("numpy", "2.5.5"), "hashes"] == 1
    assert bool(pins.loc[("numpy", "2.4.6"), "applies"]) == old_python
    assert bool(pins.loc[("numpy", "2.5.5"), "applies"]) != old_python
    assert pins.loc[("no-such-package-here", "1.0"), "marker"] == ""
    assert pd.isna(pins.loc[("no-such-package-here", "1.0"), "installed"])
    here = pins[pins["applies"]].loc["numpy"]
    assert here["installed"].iloc[0] == np.__version__


def test_imputation_at_random_keeps_the_mean_and_filling_shrinks_the_spread():
    rng = np.random.default_rng(1)
    values = pd.Series(rng.lognormal(10, 0.5, 50_000))
    missing = pd.Series(rng.random(len(values)) < 0.3)
    table = foundations.compare_imputations(values, missing, pd.Series(np.zeros(len(values))))
    assert abs(table.loc["fill with the mean", "mean_error"]) < 0.01 * values.mean()
    assert table.loc["fill with the median", "mean_error"] < -0.02 * values.mean()     # skewed: median < mean
    assert table.loc["fill with the mean", "std"] < 0.9 * values.std()
    assert table.loc["drop the rows", "rows"] == (~missing).sum()


def test_peak_memory_sees_a_list_and_not_a_generator():
    _, as_list = foundations.peak_mib(lambda: sum([i * 2 for i in range(200_000)]))
    _, as_gen = foundations.peak_mib(lambda: sum(i * 2 for i in range(200_000)))
    assert as_list > 1 and as_gen < 0.1


def test_an_array_holds_8_bytes_a_float_and_a_list_more():
    table = foundations.list_vs_array(10_000).set_index("container")
    assert table.loc["numpy array", "bytes_per_value"] == 8
    assert table.loc["list", "bytes_per_value"] > 30
