"""Write the S3 model registry: publish immutable versions, move aliases to promote and roll back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from microtarget.aws.model_registry import ModelRegistry, alias_key, manifest_key, model_key

# The metric each kind of model is gated on, read from manifest["metrics"]["validation"].
GATE_METRIC = {"classifier": "roc_auc", "segmenter": "silhouette", "recommender": "hit_rate", "uplift": "qini"}


class GateRefused(Exception):
    """publish would replace something better; says what and by how much."""


def gate(manifest: dict[str, Any], promoted: dict[str, Any] | None) -> list[str]:
    """Reasons not to publish (empty when the model may go out)."""
    metric = GATE_METRIC[manifest["kind"]]
    value = manifest["metrics"]["validation"][metric]
    reasons = []
    baseline = manifest.get("baseline_metrics", {}).get("validation", {}).get(metric)
    if baseline is not None and value <= baseline:
        reasons.append(f"validation {metric} {value:.4f} does not beat the baseline's {baseline:.4f}")
    if promoted is not None and not unlike(manifest, promoted):
        current = promoted["metrics"]["validation"][metric]
        if value < current:
            reasons.append(f"validation {metric} {value:.4f} is below promoted {promoted['version']} ({current:.4f})")
    return reasons


def unlike(manifest: dict[str, Any], promoted: dict[str, Any]) -> str | None:
    """Why the two models' validation figures cannot be compared (None when they can): a 28-day
    propensity is not worse than a 14-day one for scoring lower on a different question."""
    if manifest.get("offers") != promoted.get("offers"):  # an uplift model's mean Qini is over its offers
        return f"promoted {promoted['version']} covers offers {promoted.get('offers')}, this {manifest.get('offers')}"
    mine, theirs = manifest.get("label", {}), promoted.get("label", {})
    if mine.get("horizon_days") != theirs.get("horizon_days"):
        return f"promoted {promoted['version']} answers a {theirs.get('horizon_days')}-day question, this a {mine.get('horizon_days')}-day one"
    if mine.get("definition") != theirs.get("definition"):
        return f"promoted {promoted['version']} has another label ({theirs.get('definition')})"
    return None


class RegistryWriter(ModelRegistry):
    def publish(self, model_dir: Path, environment: str = "prod", force: bool = False) -> dict[str, Any]:
        """Upload the model file + manifest.json as a new immutable version (the alias does not move)."""
        manifest, reasons = self.check(model_dir, environment, force)
        return self.upload(model_dir, manifest, reasons if force else [])

    def check(self, model_dir: Path, environment: str = "prod", force: bool = False) -> tuple[dict, list[str]]:
        """The manifest and the gate's reasons, or GateRefused: what publish would do, without doing it."""
        manifest = json.loads((model_dir / "manifest.json").read_text())
        name, version = manifest["model"], manifest["version"]
        alias = self.alias(name, environment)
        promoted = self.manifest(name, alias["version"]) if alias else None
        reasons = gate(manifest, promoted)
        if promoted is not None:  # what the gate compared, for whoever reads the manifest later
            manifest["gate"] = {"promoted": promoted["version"], "not_compared": unlike(manifest, promoted)}
        if reasons and not force:
            raise GateRefused(f"{name} {version} not published: " + "; ".join(reasons) + " (use --force to override)")
        if version in self.versions(name):
            raise GateRefused(f"{name} {version} already exists: versions are immutable")
        return manifest, reasons

    def upload(self, model_dir: Path, manifest: dict[str, Any], forced_past: list[str]) -> dict[str, Any]:
        name, version = manifest["model"], manifest["version"]
        artifact = manifest.get("artifact", "model.onnx")
        body = (model_dir / artifact).read_bytes()
        self.s3.put_object(Bucket=self.bucket, Key=model_key(name, version, artifact), Body=body)
        manifest["published"] = {"at": _now(), "forced_past": forced_past}
        self.s3.put_object(Bucket=self.bucket, Key=manifest_key(name, version), Body=json.dumps(manifest, indent=2))
        return manifest

    def promote(self, name: str, version: str, environment: str = "prod") -> dict[str, Any]:
        self.manifest(name, version)  # raises KeyError for an unknown version
        alias = self.alias(name, environment) or {"history": []}
        if alias.get("version") == version:
            return alias
        history = [*alias.get("history", []), alias["version"]] if alias.get("version") else alias.get("history", [])
        return self._write_alias(name, environment, version, history)

    def rollback(self, name: str, environment: str = "prod") -> dict[str, Any]:
        alias = self.alias(name, environment)
        if not alias or not alias.get("history"):
            raise KeyError(f"{name} has no earlier {environment} version to roll back to")
        *history, previous = alias["history"]
        return self._write_alias(name, environment, previous, history)

    def listing(self, name: str, environment: str = "prod") -> list[dict[str, Any]]:
        live = (self.alias(name, environment) or {}).get("version")
        rows = []
        for version in self.versions(name):
            manifest = self.manifest(name, version)
            metric = GATE_METRIC[manifest["kind"]]
            rows.append(
                {
                    "version": version,
                    "live": version == live,
                    "created": manifest["created"],
                    metric: manifest["metrics"]["validation"][metric],
                }
            )
        return rows

    def _write_alias(self, name: str, environment: str, version: str, history: list[str]) -> dict[str, Any]:
        alias = {"model": name, "environment": environment, "version": version, "history": history, "at": _now()}
        self.s3.put_object(Bucket=self.bucket, Key=alias_key(name, environment), Body=json.dumps(alias, indent=2))
        return alias


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
