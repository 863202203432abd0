"""Secrets Manager: the pseudonymization key, through Powertools parameters (cached)."""

from __future__ import annotations

from microtarget.errors import ConfigurationError
from microtarget.identity import Pseudonymizer


def pseudonymizer_from_secret(secret_id: str, max_age_seconds: int = 3600) -> Pseudonymizer:
    """Fetch the key through Powertools parameters (cached for max_age_seconds)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        key = SecretsProvider().get(secret_id, max_age=max_age_seconds)
    except GetParameterError as exc:
        raise ConfigurationError(f"cannot read the pseudonymization secret {secret_id!r}: {exc}") from exc
    return Pseudonymizer(str(key))
