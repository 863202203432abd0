"""The template's alarms reach someone and watch what the functions really emit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from local.api_server import api_event
from local.aws import LocalAws
from local.config import upload_config
from local.lambda_runtime import LocalFunction
from local.template import ROOT, load_template, resources_of_type

TEMPLATE = load_template()
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
GLOBAL_ENV = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE, SERVICE = GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"], GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]
SOURCES = "\n".join(p.read_text() for d in ("functions", "layers/core/microtarget") for p in (ROOT / d).rglob("*.py"))
JOBS = "\n".join(p.read_text() for p in (ROOT / "training").glob("*.py"))  # the daily jobs' figures
# an alarm on a daily job's figure keeps its state on a day without one (a failed run reaches the
# topic through BatchJobFailedRule)
MISSING_DATA = {"ModelDriftAlarm": "ignore", "ModelPerformanceAlarm": "ignore"}


def _watched(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or those of its metric math."""
    props = alarm["Properties"]
    if "Metrics" in props:
        return [query["MetricStat"]["Metric"] for query in props["Metrics"] if "MetricStat" in query]
    return [{key: props[key] for key in ("Namespace", "MetricName", "Dimensions") if key in props}]


def test_every_alarm_notifies_the_alarm_topic_both_ways() -> None:
    assert len(ALARMS) >= 8
    for name, alarm in ALARMS.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}] == props["OKActions"], name
        assert props["TreatMissingData"] == MISSING_DATA.get(name, "notBreaching") and props["AlarmDescription"], name


def test_alarms_on_our_metrics_watch_names_the_code_emits_with_its_dimensions() -> None:
    ours = [metric for alarm in ALARMS.values() for metric in _watched(alarm) if metric["Namespace"] == NAMESPACE]
    jobs = [metric for metric in ours if "Dimensions" not in metric]  # the jobs send the worst figure undimensioned
    assert {m["MetricName"] for m in jobs} == {"DriftMax", "LiveAucShortfall"}
    for metric in jobs:
        assert re.search(rf"point\(\"{metric['MetricName']}\"", JOBS), metric["MetricName"]
    ours = [metric for metric in ours if metric not in jobs]
    assert {m["MetricName"] for m in ours} >= {"CampaignsInvalid", "CatalogInvalid", "ModelRejected", "ModelMissing",
                                               "EventsRejected"}  # fmt: skip
    for metric in ours:  # an alarm on a name nobody emits, or on other dimensions, never fires
        assert re.search(rf"[\"']{metric['MetricName']}[\"']", SOURCES), metric["MetricName"]
        assert metric["Dimensions"] == [{"Name": "service", "Value": SERVICE}], metric["MetricName"]


def test_a_broken_campaigns_edit_emits_the_metric_its_alarm_watches(local_aws: LocalAws, tmp_path: Path) -> None:
    upload_config(local_aws, b"offers:\n  - id: half-an-offer\n")
    api = LocalFunction(local_aws, "ApiFunction", tmp_path)
    reply = api.invoke(api_event("GET", "/v1/models", {}, b""))
    assert reply["statusCode"] == 200 and "campaigns" in json.loads(reply["body"])["problems"]
    blobs = [json.loads(line) for line in api.log_path.read_text().splitlines() if line.startswith('{"_aws"')]
    emitted = {
        (directive["Namespace"], metric["Name"], blob["service"])
        for blob in blobs
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
        if blob.get(metric["Name"])
    }
    [watched] = _watched(ALARMS["CampaignsInvalidAlarm"])
    assert (watched["Namespace"], watched["MetricName"], watched["Dimensions"][0]["Value"]) in emitted
    alarm = local_aws.client("cloudwatch").describe_alarms(AlarmNamePrefix=local_aws.stack_name)["MetricAlarms"]
    unconditional = [a for a in ALARMS.values() if "Condition" not in a]  # the jobs' need the batch engine
    assert len(alarm) == len(unconditional)  # the CloudWatch API accepted every alarm as the template declares it
