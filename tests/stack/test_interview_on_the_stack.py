"""The question bank's demonstrations that talk to the stack (tests/unit/test_interview.py runs the rest)."""

import pytest

from scalelab.teaching import interview
from scalelab.teaching.interview import demos

STACK = [q for q in interview.questions() if demos.NEEDS[q.demo]]
pytestmark = [pytest.mark.stack]


def test_some_demonstrations_use_the_stack():
    assert {demos.NEEDS[q.demo] for q in STACK}


@pytest.mark.parametrize("question", STACK, ids=[q.id for q in STACK])
def test_each_demonstration_proves_its_answers_claims_on_the_stack(question, require):
    require(*demos.NEEDS[question.demo])
    demo = question.run_demo("tiny")
    assert demo.claims and not demo.failed(), [c.text for c in demo.failed()]
