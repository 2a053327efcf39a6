"""Jars from Maven Central, resolved with `mvn` from a small pom in the repo and cached.

Kafka's broker and Spark's Kafka connector come this way: neither has a PyPI or Debian
package, and project websites are not a source we download from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class MavenError(RuntimeError):
    pass


COMPLETE = ".complete"


def ready(target: Path) -> bool:
    return (target / COMPLETE).exists()


def resolve(pom: Path, target: Path, what: str, properties: dict[str, str] | None = None,
            include: list[str] | None = None, quiet: bool = True) -> Path:
    """Copy the pom's runtime dependencies into `target` (once).

    Written into a temporary folder and renamed, so an interrupted download never looks
    complete. `include` keeps only those artifact ids (the rest are already on the
    classpath that uses them).
    """
    if ready(target):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenError(f"Maven (`mvn`) not found: it resolves {what} from Maven Central. "
                         "Install it (Debian: apt-get install maven).")
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [mvn, "-B", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime",
           f"-DoutputDirectory={tmp}"]
    cmd += [f"-D{k}={v}" for k, v in (properties or {}).items()]
    if include:
        cmd.append("-DincludeArtifactIds=" + ",".join(include))
    if quiet:
        cmd.insert(1, "-q")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MavenError(f"mvn could not resolve {what}:\n" + (proc.stdout + proc.stderr)[-2000:])
    (tmp / COMPLETE).write_text(" ".join(f"{k}={v}" for k, v in (properties or {}).items()) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target
