"""Finding a Java runtime that Spark 4 and Kafka 4 accept (17 or newer)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

MIN_JAVA = 17


class JavaError(RuntimeError):
    pass


def java_binary() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_version(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    text = out.stderr + out.stdout
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        raise JavaError(f"could not read a version from `{java} -version`: {text.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major  # "1.8.0" means Java 8


def require_java() -> tuple[str, int]:
    """The java binary and its major version, or a JavaError saying what to install."""
    java = java_binary()
    if java is None:
        raise JavaError(f"Java not found: Spark and Kafka need Java {MIN_JAVA} or newer. "
                        "Install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME.")
    version = java_version(java)
    if version < MIN_JAVA:
        raise JavaError(f"Java {version} at {java} is too old: Spark 4 and Kafka 4 need Java {MIN_JAVA} or newer. "
                        "Install a newer JDK or point JAVA_HOME at one.")
    return java, version
