"""The functions and layers as Lambda gets them: zipped by SAM's own packaging code, then unpacked.

`sam package` / `sam deploy` write every file with a 1980-01-01 timestamp, so what runs in Lambda
is not the `sam build` tree: a `.pyc` that checks its source's mtime is stale there, and Lambda
(read-only code) compiles that module again on every cold start. Measuring the unpacked packages
catches that; measuring `.aws-sam/build` would not.
"""

from __future__ import annotations

import os
import subprocess
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

from local.template import ROOT

TOOLS_PYTHON = Path(os.environ.get("TOOLS_BIN", ROOT / ".venv-tools" / "bin")) / "python"
ZIP_LIKE_SAM = "import sys; from samcli.lib.package.utils import make_zip; make_zip(sys.argv[1], sys.argv[2])"


def unpack_as_deployed(build: Path, parts: Iterable[str], into: Path) -> Path:
    """Each part of `build` zipped by SAM CLI's make_zip and unpacked into `into` (times as zipped)."""
    if not TOOLS_PYTHON.exists():
        raise SystemExit(f"{TOOLS_PYTHON} missing: `make tools` installs SAM CLI, whose packaging this uses")
    into.mkdir(parents=True, exist_ok=True)
    for part in parts:
        archive = into / part  # make_zip appends .zip
        subprocess.run([str(TOOLS_PYTHON), "-c", ZIP_LIKE_SAM, str(archive), str(build / part)], check=True)
        with zipfile.ZipFile(f"{archive}.zip") as packed:
            for entry in packed.infolist():
                path = packed.extract(entry, into / part)
                stamp = time.mktime((*entry.date_time, 0, 0, -1))
                os.utime(path, (stamp, stamp))
        Path(f"{archive}.zip").unlink()
    return into
