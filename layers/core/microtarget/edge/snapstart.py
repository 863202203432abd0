"""SnapStart for the serving functions: init runs once, when a version is published, and every
new execution environment resumes from its memory snapshot instead of importing and loading.

So init must do the slow work while it is free (build the root, load the campaigns file and the
ONNX sessions into the snapshot), and each restore must undo what a snapshot freezes: `random`
would repeat the same sequence in every environment, and what was loaded may be days old (the
TTL clock restarts, so the first request re-reads the promoted versions), and the pseudonym keys
are read again (a key may have been added since the snapshot). boto3 clients made at
init stay valid (SnapStart serves credentials through the container endpoint, refreshed).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

Hook = Callable[[], None]


def snapshotting() -> bool:
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"


def prepare(warm: Hook, *after_restore: Hook) -> bool:
    """Under SnapStart, `warm` now (into the snapshot) and register the restore hooks; else nothing."""
    if not snapshotting():
        return False
    from snapshot_restore_py import register_after_restore  # in the Lambda runtime, not in requirements

    warm()
    register_after_restore(_restored, after_restore)
    return True


def _restored(hooks: tuple[Hook, ...]) -> None:
    random.seed()  # from os.urandom: each environment its own sequence
    for hook in hooks:
        hook()
