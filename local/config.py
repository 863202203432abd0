"""Upload what marketers edit (campaigns/catalog.yaml and campaigns/templates/) to where the
stack reads it: config/campaigns.yaml and config/templates/ in the models bucket."""

from __future__ import annotations

from local.aws import LocalAws
from local.template import ROOT

CAMPAIGNS = ROOT / "campaigns" / "catalog.yaml"
TEMPLATES = ROOT / "campaigns" / "templates"


def upload_config(aws: LocalAws, campaigns: bytes | None = None) -> None:
    s3, bucket = aws.client("s3"), aws.ref("ModelsBucket")
    s3.put_object(Bucket=bucket, Key="config/campaigns.yaml", Body=campaigns or CAMPAIGNS.read_bytes())
    for path in sorted(TEMPLATES.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=f"config/templates/{path.relative_to(TEMPLATES)}", Body=path.read_bytes())
