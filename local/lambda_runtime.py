"""Run a template function's handler in process, with the environment the template gives it.

Handlers are loaded from CodeUri/Handler exactly as SAM would package them; their stdout
(Powertools logs and EMF metrics) goes to .local/logs/<Function>.log, not the terminal.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from local.aws import ACCOUNT, REGION, LocalAws
from local.clock import LocalClock
from local.template import ROOT, function_environment

LOG_DIR = ROOT / ".local" / "logs"


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class LocalFunction:
    def __init__(
        self, aws: LocalAws, logical_id: str, log_dir: Path | None = None, clock: LocalClock | None = None
    ) -> None:
        """`clock`: the moment every invocation sees (the one installed otherwise)."""
        self.aws, self.logical_id, self.clock = aws, logical_id, clock
        self.spec = aws.template["Resources"][logical_id]["Properties"]
        environment = aws.resolver.resolve(function_environment(aws.template, logical_id))
        self.environment = {key: str(value) for key, value in environment.items()}
        self.environment["AWS_ENDPOINT_URL"] = aws.endpoint  # as `sam local --env-vars` sets it
        log_dir = log_dir or LOG_DIR
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{logical_id}.log"
        self._log: TextIO = self.log_path.open("w", encoding="utf-8")
        self._module: ModuleType | None = None
        self.invocations = 0

    def _load(self) -> ModuleType:
        os.environ.update(self.environment)
        module_name, function_name = self.spec["Handler"].rsplit(".", 1)
        path = ROOT / self.spec["CodeUri"] / f"{module_name.replace('.', '/')}.py"
        spec = importlib.util.spec_from_file_location(f"local_fn_{self.logical_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        with contextlib.redirect_stdout(self._log):
            spec.loader.exec_module(module)
        self._entry = getattr(module, function_name)
        return module

    def _point_logs_here(self) -> None:
        """Powertools loggers are process-wide by service name: send them to this function's log."""
        service = self.environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
        for handler in logging.getLogger(service).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(self._log)

    def module(self) -> ModuleType:
        """The handler's module, loaded with the function's environment (as at cold start)."""
        if self._module is None:
            self._module = self._load()
        os.environ.update(self.environment)
        return self._module

    def invoke(self, event: dict[str, Any]) -> Any:
        if self._module is None:
            self._module = self._load()
        os.environ.update(self.environment)
        self._point_logs_here()
        self.invocations += 1
        moment = self.clock.applied() if self.clock else contextlib.nullcontext()
        with moment, contextlib.redirect_stdout(self._log):
            try:
                return self._entry(event, LambdaContext(function_name=self.logical_id))
            finally:
                self._log.flush()

    def close(self) -> None:
        self._log.close()
