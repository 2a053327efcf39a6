"""TPC-H in Ray Data: to come (issue 20); until then each query declares why Ray does not run it."""

from __future__ import annotations

MISSING = "not written for Ray Data yet (notimpl)"
QUERIES: dict = {}
