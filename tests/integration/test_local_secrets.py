"""The local stack's generated secrets: random by default, reproducible from a seed (the demo's)."""

from __future__ import annotations

import uuid

from microtarget.aws.secrets import pseudonymizer_from_secret

from local.aws import LocalAws


def _pid(endpoint: str, seed: int | None) -> str:
    aws = LocalAws(stack_name=f"s{uuid.uuid4().hex[:10]}", endpoint=endpoint, secret_seed=seed).start()
    return pseudonymizer_from_secret(aws.ref("PseudonymSecret")).pid("customer-1")


def test_a_seed_gives_the_same_pids_in_every_stack_and_no_seed_gives_fresh_ones(moto_endpoint: str) -> None:
    assert _pid(moto_endpoint, 7) == _pid(moto_endpoint, 7)  # the demo's arms hold from run to run
    assert _pid(moto_endpoint, 7) != _pid(moto_endpoint, 8)
    assert _pid(moto_endpoint, None) != _pid(moto_endpoint, None)
