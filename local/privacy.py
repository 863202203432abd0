"""Look for raw customer ids where only pseudonymized ids may be."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from microtarget.profile import Profile

_TOKEN = re.compile(r"[A-Za-z0-9_.@+-]+")


def raw_ids_found(
    raw_ids: Iterable[str], profiles: dict[str, Profile], logs: Iterable[Path], more: Iterable[str] = ()
) -> int:
    """How many raw ids appear as a token in any profile item, log file or further text."""
    wanted = set(raw_ids)
    texts = [json.dumps(profile.to_item()) + json.dumps(asdict(profile)) for profile in profiles.values()]
    texts += [path.read_text(encoding="utf-8") for path in logs if path.exists()]
    texts += list(more)
    found: set[str] = set()
    for text in texts:
        found.update(wanted.intersection(_TOKEN.findall(text)))
    return len(found)


_EMAIL = re.compile(r"[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.]+")


def contact_leaks(profiles: dict[str, Profile], ledger: Iterable[dict], logs: Iterable[Path]) -> int:
    """How many e-mail addresses appear in profiles, the decisions ledger or the logs."""
    texts = [json.dumps(profile.to_item()) for profile in profiles.values()]
    texts += [json.dumps(item, default=str) for item in ledger]
    texts += [path.read_text(encoding="utf-8") for path in logs if path.exists()]
    return len({address for text in texts for address in _EMAIL.findall(text)})


def bucket_texts(s3: Any, bucket: str, prefix: str = "") -> Iterator[str]:
    """Every version of every object under `prefix`, decompressed where gzipped, as text."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            yield (gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body).decode("utf-8", "replace")
