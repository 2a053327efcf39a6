"""What every Python process of the stack pays before it does anything: its imports.

A Ray worker, a driver, each dashboard module and the JupyterLab server all import ray or
jupyter_events; what those imports cost is paid again in each of them, on two cores at once
while `make up` starts ten services.
"""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["ray", "jupyter_events"])
def test_importing_a_stack_library_builds_no_rfc3987_parser(module):
    # requirements.overrides keeps rfc3987-syntax out of the lock: jsonschema would import it and
    # build an Earley parser (1.1 s of CPU) in every process that imports jsonschema.
    out = subprocess.run([sys.executable, "-c", f"import sys, {module}; print(sorted(m for m in sys.modules "
                          "if m.split('.')[0] in ('rfc3987_syntax', 'lark')))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import {module} loaded {out.stdout.strip()}: is rfc3987-syntax back in requirements.lock?"
