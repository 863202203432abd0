"""A training command run in process as the demo runs them: quietly, its JSON answer returned."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from training import cli


class CommandFailed(RuntimeError):
    def __init__(self, command: str, said: str) -> None:
        super().__init__(f"python -m training {command}: {said}")
        self.said = said  # the command's own error line


def training(argv: list[str]) -> Any:
    """`python -m training <argv>`'s answer; a failure raises with the command's own error line."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    if code:
        said = err.getvalue().strip().splitlines() or ["(it said nothing)"]
        raise CommandFailed(argv[0], said[-1].removeprefix("error: "))
    return json.loads(out.getvalue())
