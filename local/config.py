"""Upload what marketers edit (campaigns/catalog.yaml and campaigns/templates/) and the product
catalog to where the stack reads them: config/campaigns.yaml, config/templates/ and
config/products.jsonl in the models bucket."""

from __future__ import annotations

from pathlib import Path

from local.aws import LocalAws
from local.quiet import training
from local.template import ROOT
from training.synthetic import SyntheticTraffic
from training.synthetic_catalog import feed_csv

CAMPAIGNS = ROOT / "campaigns" / "catalog.yaml"
TEMPLATES = ROOT / "campaigns" / "templates"


def upload_config(aws: LocalAws, campaigns: bytes | None = None) -> None:
    s3, bucket = aws.client("s3"), aws.ref("ModelsBucket")
    s3.put_object(Bucket=bucket, Key="config/campaigns.yaml", Body=campaigns or CAMPAIGNS.read_bytes())
    for path in sorted(TEMPLATES.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=f"config/templates/{path.relative_to(TEMPLATES)}", Body=path.read_bytes())


def upload_catalog(aws: LocalAws, traffic: SyntheticTraffic, folder: Path) -> str:
    """The synthetic shop's product feed, imported as a merchandiser would (`training catalog`)."""
    feed = folder / "products.csv"
    feed.parent.mkdir(parents=True, exist_ok=True)
    feed.write_text(feed_csv(traffic))
    stored = f"s3://{aws.ref('ModelsBucket')}/config/products.jsonl"
    found = training(["catalog", str(feed), "--out", stored])
    return (f"catalog {found['version']}: {found['products']:,} products ({found['unavailable']:,} unavailable) "
            f"→ {stored}; {found['skipped']} rows skipped")  # fmt: skip
