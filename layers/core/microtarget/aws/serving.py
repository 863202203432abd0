"""What the serving functions keep between requests: campaigns and models, refreshed on a TTL.

Degrade, don't fail: a campaigns file that stops validating keeps the last good one; a model
that is missing or fails verification is left out (decisions say they fell back to rules).
Every problem is reported through `on_problem(metric_name, detail)` and kept in `problems`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.aws.model_registry import ModelRegistry
from microtarget.campaigns import Campaigns, parse_campaigns
from microtarget.catalog import Catalog, parse_catalog
from microtarget.errors import MicrotargetError
from microtarget.recommendations import ARTIFACT, RECOMMENDER, Recommender, load_recommender
from microtarget.scoring import MODEL_NAMES, OPTIONAL_MODELS, LoadedModel, ModelStatus, load_model


class ServingState:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        campaigns_key: str,
        environment: str = "prod",
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_problem: Callable[[str, str], None] = lambda _m, _d: None,
    ) -> None:
        self.registry = ModelRegistry(s3, bucket)
        self.campaigns_key, self.environment, self.ttl = campaigns_key, environment, ttl_seconds
        self._clock, self._on_problem = clock, on_problem
        self._campaigns: Campaigns | None = None
        self._campaigns_at = float("-inf")
        self._models: dict[str, LoadedModel] = {}
        self._models_at = float("-inf")
        self._recommender: Recommender | None = None
        self._recommender_at = float("-inf")
        self.catalog_key = f"{campaigns_key.rpartition('/')[0]}/products.jsonl".lstrip("/")
        self._catalog: Catalog | None = None
        self._catalog_etag, self._catalog_at = "", float("-inf")
        self.problems: dict[str, str] = {}

    def expire(self) -> None:
        """Re-read everything on the next call (after a SnapStart restore: the snapshot may be old)."""
        self._campaigns_at = self._models_at = self._recommender_at = self._catalog_at = float("-inf")

    def campaigns(self) -> Campaigns | None:
        if self._clock() - self._campaigns_at >= self.ttl:
            self._campaigns_at = self._clock()
            try:
                body = self.registry.s3.get_object(Bucket=self.registry.bucket, Key=self.campaigns_key)["Body"].read()
                self._campaigns = parse_campaigns(body)
                self.problems.pop("campaigns", None)
            except (MicrotargetError, ClientError, BotoCoreError) as exc:
                kept = f"; keeping version {self._campaigns.version}" if self._campaigns else ""
                self._problem("CampaignsInvalid", "campaigns", f"{exc}{kept}")
        return self._campaigns

    def catalog(self) -> Catalog | None:
        """The product catalog (None before one is written: messages show product ids); read again
        only when its ETag changed, and an invalid one keeps the last good one."""
        if self._clock() - self._catalog_at >= self.ttl:
            self._catalog_at = self._clock()
            try:
                reply = self.registry.s3.get_object(Bucket=self.registry.bucket, Key=self.catalog_key,
                                                    **({"IfNoneMatch": self._catalog_etag} if self._catalog else {}))  # fmt: skip
                self._catalog, self._catalog_etag = parse_catalog(reply["Body"].read()), reply["ETag"]
                self.problems.pop("catalog", None)
            except ClientError as exc:
                code, kept = exc.response.get("Error", {}).get("Code", ""), self._catalog
                if code in ("NoSuchKey", "404") and kept is None:  # none imported yet: ids only
                    self.problems["catalog"] = f"no {self.catalog_key}: messages show product ids"
                elif code in ("NoSuchKey", "404") and kept is not None:  # gone: the last one still says what is out
                    self._problem(
                        "CatalogInvalid", "catalog", f"{self.catalog_key} is gone; keeping version {kept.version}"
                    )
                elif code not in ("304", "NotModified"):
                    self._problem("CatalogInvalid", "catalog", f"cannot read {self.catalog_key}: {exc}")
            except (MicrotargetError, BotoCoreError) as exc:
                keeping = f"; keeping version {self._catalog.version}" if self._catalog else ""
                self._problem("CatalogInvalid", "catalog", f"{exc}{keeping}")
        return self._catalog

    def models(self) -> dict[str, LoadedModel]:
        """The promoted versions; a promote or rollback shows up within one TTL."""
        if self._clock() - self._models_at >= self.ttl:
            self._models_at = self._clock()
            for name in MODEL_NAMES:
                self._refresh(name)
        return dict(self._models)

    def model_status(self) -> dict[str, ModelStatus]:
        """Each serving model: the live version and its metrics, or why none is live."""
        loaded = self.models()
        return {
            name: ModelStatus(loaded[name].version, "live", loaded[name].manifest.get("metrics", {}))
            if name in loaded
            else ModelStatus(None, self.problems.get(name, "not loaded"), {})
            for name in MODEL_NAMES
        }

    def recommender(self) -> Recommender | None:
        """The promoted co-occurrence model; None (messages go without recommendations) if missing."""
        if self._clock() - self._recommender_at >= self.ttl:
            self._recommender_at = self._clock()
            self._recommender = self._promoted(
                RECOMMENDER, self._recommender, lambda manifest, version: load_recommender(
                    manifest, self.registry.model_bytes(RECOMMENDER, version, ARTIFACT)
                ),
            )  # fmt: skip
        return self._recommender

    def _refresh(self, name: str) -> None:
        loaded = self._promoted(
            name, self._models.get(name),
            lambda manifest, version: load_model(name, manifest, self.registry.model_bytes(name, version)),
            required=name not in OPTIONAL_MODELS,
        )  # fmt: skip
        if loaded is None:
            self._models.pop(name, None)
        else:
            self._models[name] = loaded

    def _promoted[M: (LoadedModel, Recommender)](
        self, name: str, current: M | None, load: Callable[[dict[str, Any], str], M], required: bool = True
    ) -> M | None:
        """The one rule for every artifact: the alias's version, loaded (and verified) only when it
        changed; nothing promoted or a refused artifact is left out and reported, never fatal."""
        try:
            alias = self.registry.alias(name, self.environment)
            if alias is None:
                if required:
                    self._problem("ModelMissing", name, f"no promoted {self.environment} version")
                else:  # expected until there is data for it: no alarm, and offers fall back
                    self.problems[name] = f"no promoted {self.environment} version (optional)"
                return None
            if current is None or current.version != alias["version"]:
                current = load(self.registry.manifest(name, alias["version"]), alias["version"])
            self.problems.pop(name, None)
            return current
        except (MicrotargetError, KeyError, ClientError, BotoCoreError) as exc:
            self._problem("ModelRejected", name, str(exc))
            return None

    def _problem(self, metric: str, key: str, detail: str) -> None:
        self.problems[key] = detail
        self._on_problem(metric, detail)
