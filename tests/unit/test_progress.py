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
