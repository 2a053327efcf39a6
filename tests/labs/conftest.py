"""Lab notebooks run against the live stack, as a learner's kernel does."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _client_environment(client_environment):
    """Kernels inherit this process's environment: the stack's client variables."""
