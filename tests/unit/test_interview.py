"""The interview question bank: every question parses, and its demonstration's claims hold on this lab's data."""

import pytest
from typer.testing import CliRunner

from scalelab.cli import app
from scalelab.teaching import interview
from scalelab.teaching.interview import demos

QUESTIONS = interview.questions()
# Demonstrations that talk to the stack run in tests/stack/test_interview_on_the_stack.py; these need nothing.
LOCAL = [q for q in QUESTIONS if not demos.NEEDS[q.demo]]
runner = CliRunner()


def test_the_bank_covers_the_core_topics():
    assert len(QUESTIONS) >= 15
    assert {"numpy", "pandas", "ml", "big data"} <= {q.topic for q in QUESTIONS}


@pytest.mark.parametrize("question", LOCAL, ids=[q.id for q in LOCAL])
def test_each_demonstration_proves_its_answers_claims(question):
    assert len(question.answer) > 300, "a model answer, not a one-liner"
    demo = question.run_demo("tiny")
    assert demo.claims and demo.numbers
    assert not demo.failed(), [c.text for c in demo.failed()]


def test_a_malformed_question_file_is_named_with_what_is_missing(tmp_path):
    (tmp_path / "01_bad.md").write_text("# A question?\ntopic: ml\n\n## Model answer\nSomething.\n")
    with pytest.raises(interview.QuestionError, match="01_bad.md: no 'demo:' line"):
        interview.questions(tmp_path)
    (tmp_path / "01_bad.md").write_text("# A question?\ntopic: ml\ndemo: no_such_demo\n\n## Model answer\nX\n")
    with pytest.raises(interview.QuestionError, match="demo 'no_such_demo' is not one of"):
        interview.questions(tmp_path)


def test_quiz_lists_asks_waits_and_answers_with_the_numbers():
    listed = runner.invoke(app, ["quiz", "--list"])
    assert listed.exit_code == 0 and all(q.id[:2] in listed.output for q in QUESTIONS)
    asked = runner.invoke(app, ["quiz", "9"], input="\n")
    assert asked.exit_code == 0, asked.output
    question = interview.find("9")
    before, after = asked.output.split("press Enter", 1)
    assert question.title in before and "salt" in after and "✔" in after


def test_quiz_refuses_an_unknown_question_or_topic():
    unknown = runner.invoke(app, ["quiz", "99"])
    assert unknown.exit_code == 2 and "no question '99'" in unknown.output
    topic = runner.invoke(app, ["quiz", "--topic", "astrology", "--list"])
    assert topic.exit_code == 2 and "topics: big data, ml, numpy, pandas" in topic.output


def test_quiz_says_which_service_a_demonstration_needs_when_it_does_not_answer(isolated_env):
    # isolated_env: every port points at nothing, so kafka does not answer.
    asked = runner.invoke(app, ["quiz", "14", "--no-wait"])
    assert asked.exit_code == 1
    assert "needs kafka, which does not answer" in asked.output and "make up" in asked.output
