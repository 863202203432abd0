from __future__ import annotations

import base64
import json

from microtarget.aws.dead_letters import MAX_INLINE_BYTES, SqsDeadLetters
from microtarget.errors import PermanentError
from microtarget.ports import Rejection

from local.aws import LocalAws


def test_rejections_keep_reason_and_record_and_large_ones_go_to_s3(local_aws: LocalAws) -> None:
    sqs, s3 = local_aws.client("sqs"), local_aws.client("s3")
    url, bucket = local_aws.ref("RejectedEventsQueue"), local_aws.ref("DataLakeBucket")
    small = Rejection(PermanentError("invalid_json", "bad"), b"{oops", {"sequence_number": "1"})
    large = Rejection(PermanentError("oversized", "big"), b"x" * (MAX_INLINE_BYTES + 10), {"sequence_number": "2"})
    key_id = local_aws.attribute("DeadLettersKey", "Arn")
    SqsDeadLetters(sqs, url, s3, bucket, key_id=key_id).send([small] + [large] * 11)  # more than one SQS batch
    bodies = []
    while reply := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in reply]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(reply)]
        )
    assert len(bodies) == 12
    first = next(b for b in bodies if b["source"]["sequence_number"] == "1")
    assert first["reason"] == {"code": "invalid_json", "field": None, "message": "bad"}
    assert base64.b64decode(first["data_base64"]) == b"{oops"
    claim = next(b for b in bodies if b["source"]["sequence_number"] == "2")
    key = claim["data_s3"].split(f"s3://{bucket}/", 1)[1]
    stored = s3.get_object(Bucket=bucket, Key=key)
    assert stored["Body"].read() == large.data
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"].rsplit("/", 1)[-1]) == (
        "aws:kms",
        key_id.rsplit("/", 1)[-1],
    )  # sealed under the dead-letters key, as the queue is
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == local_aws.ref("DeadLettersKey")


def _drain(sqs, url: str) -> list[dict]:  # type: ignore[no-untyped-def]
    bodies = []
    while reply := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in reply]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(reply)]
        )
    return bodies


def test_large_rejections_in_one_batch_all_reach_the_queue(local_aws: LocalAws) -> None:
    # Given six 140 KB bad records and ten of 40 KB (together far past SQS's 256 KB a batch)
    sqs, s3 = local_aws.client("sqs"), local_aws.client("s3")
    url, bucket = local_aws.ref("RejectedEventsQueue"), local_aws.ref("DataLakeBucket")
    big = [
        Rejection(PermanentError("oversized", "big"), b"b" * 140_000, {"sequence_number": f"b{i}"}) for i in range(6)
    ]
    mid = [
        Rejection(PermanentError("invalid_json", "bad"), b"m" * 40_000, {"sequence_number": f"m{i}"}) for i in range(10)
    ]
    SqsDeadLetters(sqs, url, s3, bucket).send(big + mid)
    # Then every one is on the queue, the large ones by claim check
    bodies = {b["source"]["sequence_number"]: b for b in _drain(sqs, url)}
    assert set(bodies) == {r.source["sequence_number"] for r in big + mid}
    assert all("data_s3" in bodies[f"b{i}"] for i in range(6))
    assert all(len(base64.b64decode(bodies[f"m{i}"]["data_base64"])) == 40_000 for i in range(10))
