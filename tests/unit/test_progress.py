"""The labs' progress bars: off outside a notebook (tests, scripts, logs), drawn when asked."""

from scalelab import progress


def test_outside_a_notebook_the_bar_is_off(capsys):
    assert progress.in_notebook() is False
    bar = progress.bar(100, "acknowledged by t")
    bar.update(100)
    bar.close()
    assert bar.disable and capsys.readouterr().err == ""


def test_asked_for_the_bar_counts_in_the_terminal(capsys):
    bar = progress.bar(100, "acknowledged by t", enabled=True)
    bar.update(40)
    bar.update(60)
    bar.close()
    err = capsys.readouterr().err
    assert "acknowledged by t" in err and "100/100" in err


def test_a_grid_searchs_fits_advance_the_joblib_bar_and_the_hook_is_gone_after(capsys):
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = make_classification(200, random_state=0)
    before = joblib.Parallel.print_progress
    with progress.joblib_bar("grid search fits", total=9, enabled=True) as bar:
        GridSearchCV(LogisticRegression(), {"C": [0.1, 1, 10]}, cv=3).fit(X, y)    # 3 settings x 3 folds
    assert (bar.n, bar.total) == (9, 9)
    assert joblib.Parallel.print_progress is before
    assert "9/9" in capsys.readouterr().err


def test_the_joblib_bar_learns_its_total_when_none_is_given_and_is_restored_on_error():
    import joblib
    import pytest

    before = joblib.Parallel.print_progress
    with pytest.raises(ZeroDivisionError):
        with progress.joblib_bar("tasks", enabled=True) as bar:
            joblib.Parallel(n_jobs=1)(joblib.delayed(abs)(i) for i in range(5))
            assert (bar.n, bar.total) == (5, 5)
            1 / 0
    assert joblib.Parallel.print_progress is before
