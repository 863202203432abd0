"""The DynamoDB profile store against the local AWS (moto enforces the 400 KB item limit)."""

from __future__ import annotations

import boto3
import pytest
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.errors import PermanentError
from microtarget.profile import Profile

from local.aws import LocalAws


def test_an_item_over_dynamodbs_size_limit_is_a_permanent_error_naming_the_reason(local_aws: LocalAws) -> None:
    table = boto3.resource("dynamodb", endpoint_url=local_aws.endpoint).Table(local_aws.ref("ProfilesTable"))
    store = DynamoProfileStore(table)
    # Given a profile an older, unbounded version could have built
    huge = Profile("c_huge", seen={f"{i:016x}": 1_763_000_000_000 + i for i in range(14_000)})
    with pytest.raises(PermanentError) as refused:
        store.put(huge)
    assert refused.value.code == "profile_too_large"
    store.put(Profile("c_small"))  # the store itself is fine
    assert set(store.get_many(["c_huge", "c_small"])) == {"c_small"}
