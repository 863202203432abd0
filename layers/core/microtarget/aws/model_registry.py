"""Read the S3 model registry.

    s3://<bucket>/<model>/<version>/model.onnx     immutable (model.json for the recommender:
                                                    the manifest's "artifact" names the file)
    s3://<bucket>/<model>/<version>/manifest.json  immutable
    s3://<bucket>/<model>/<environment>.json       alias: which version is live, and its history

Promote and rollback rewrite only the alias object (training/registry.py writes it).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from microtarget.aws.calls import error_code
from microtarget.scoring import LoadedModel, load_model

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"


def model_key(model: str, version: str, artifact: str = MODEL_FILE) -> str:
    return f"{model}/{version}/{artifact}"


def manifest_key(model: str, version: str) -> str:
    return f"{model}/{version}/{MANIFEST_FILE}"


def alias_key(model: str, environment: str) -> str:
    return f"{model}/{environment}.json"


class ModelRegistry:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def _get(self, key: str) -> bytes | None:
        try:
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise

    def alias(self, model: str, environment: str) -> dict[str, Any] | None:
        body = self._get(alias_key(model, environment))
        return None if body is None else json.loads(body)

    def manifest(self, model: str, version: str) -> dict[str, Any]:
        body = self._get(manifest_key(model, version))
        if body is None:
            raise KeyError(f"{model} has no version {version!r} in s3://{self.bucket}")
        return dict(json.loads(body))

    def model_bytes(self, model: str, version: str, artifact: str = MODEL_FILE) -> bytes:
        body = self._get(model_key(model, version, artifact))
        if body is None:
            raise KeyError(f"{model} version {version!r} has no {artifact}")
        return body

    def versions(self, model: str) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{model}/", Delimiter="/"):
            found += [prefix["Prefix"].split("/")[1] for prefix in page.get("CommonPrefixes", [])]
        return sorted(found)

    def load(self, model: str, environment: str, threads: int = 1) -> LoadedModel | None:
        """The promoted version, verified; None when nothing is promoted."""
        alias = self.alias(model, environment)
        if alias is None:
            return None
        version = alias["version"]
        return load_model(model, self.manifest(model, version), self.model_bytes(model, version), threads)
