from __future__ import annotations

import base64
import json

from microtarget.dead_letters import MAX_INLINE_BYTES, Rejection, SqsDeadLetters
from microtarget.errors import PermanentError

from local.aws import LocalAws


def test_rejections_keep_reason_and_record_and_large_ones_go_to_s3(local_aws: LocalAws) -> None:
    sqs, s3 = local_aws.client("sqs"), local_aws.client("s3")
    url, bucket = local_aws.ref("RejectedEventsQueue"), local_aws.ref("DataLakeBucket")
    small = Rejection(PermanentError("invalid_json", "bad"), b"{oops", {"sequence_number": "1"})
    large = Rejection(PermanentError("oversized", "big"), b"x" * (MAX_INLINE_BYTES + 10), {"sequence_number": "2"})
    SqsDeadLetters(sqs, url, s3, bucket).send([small] + [large] * 11)  # more than one SQS batch
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
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == large.data
