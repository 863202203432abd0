"""Secrets Manager: the pseudonymization keys, read again every few minutes (a rotation reaches
a running function within KEY_CACHE_S)."""

from __future__ import annotations

from collections.abc import Callable

from microtarget import clock
from microtarget.errors import ConfigurationError
from microtarget.identity import Pseudonymizer, parse_keys

KEY_CACHE_S = 300


def pseudonymizer_from_secret(
    secret_id: str, max_age_seconds: float = KEY_CACHE_S, monotonic: Callable[[], float] = clock.monotonic
) -> Pseudonymizer:
    """The keys through Powertools parameters; read at once (a function that cannot read them
    does not start) and then again once max_age_seconds have passed."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    provider = SecretsProvider()

    def keys() -> list[str]:
        try:  # our own clock decides when: the provider's cache would add its own max_age to it
            return parse_keys(str(provider.get(secret_id, force_fetch=True)))
        except GetParameterError as exc:
            raise ConfigurationError(f"cannot read the pseudonymization secret {secret_id!r}: {exc}") from exc

    return Pseudonymizer(keys(), reload=keys, max_age_s=max_age_seconds, monotonic=monotonic)
