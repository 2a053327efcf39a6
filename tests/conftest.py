"""Shared by every test folder: the configuration the suite runs against."""

import pytest

from scalelab.config import Config


@pytest.fixture(scope="session")
def cfg() -> Config:
    return Config.load()
