"""The learning loop in template.yaml: the monitoring job's role and schedule, the alarms on its
figures, and a dashboard whose every metric is one the code sends under that name."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, get_args

from microtarget.campaigns import TriggerKind
from microtarget.edge.reporting import report_batch, trigger_metric
from microtarget.ingest_records import BatchReport

from local.aws import LocalAws
from local.template import load_template
from training import monitor_cmd, results_cmd
from training.cli import parser
from training.results_cmd import compute
from training.synthetic_ledger import Planted, ledger_items

RESOURCES: dict[str, Any] = load_template()["Resources"]
END = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
DISPATCH_OUTCOMES = ("sent", "holdout", "suppressed", "cancelled", "deferred", "failed", "uncertain")


def _substituted(body: str, **values: str) -> Any:
    return json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m[1], m[1].replace(".", "-")), body))


def _granted(role: str) -> list[dict[str, Any]]:
    return [s for p in RESOURCES[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_the_monitoring_job_reads_lake_models_and_ledger_and_writes_only_its_figures() -> None:
    names = ("MonitorJobRole", "ModelMonitoringSchedule", "ModelDriftAlarm", "ModelPerformanceAlarm")
    assert {RESOURCES[n]["Condition"] for n in names} == {"HasBatchEngine"}
    granted = _granted("MonitorJobRole")
    by_sid = {s["Sid"]: (s["Action"], json.dumps(s["Resource"])) for s in granted}
    assert by_sid["PublishesMonitoring"] == (
        "s3:PutObject",
        json.dumps({"Fn::Sub": "${ModelsBucket.Arn}/monitoring/*"}),
    )
    assert by_sid["ScansTheLedger"][0] == "dynamodb:Scan"
    metric = next(s for s in granted if s["Sid"] == "SendsTheFigures")
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "microtarget"}}
    for store in ("ProfilesTable", "ContactsTable", "ContactsKey", "PseudonymSecret", "config/"):
        assert store not in json.dumps(granted), store
    scheduler = json.dumps(_granted("LearningLoopSchedulerRole"))
    assert "MonitorJobRole" in scheduler and "ResultsJobRole" in scheduler

    body = RESOURCES["ModelMonitoringSchedule"]["Properties"]["Target"]["Input"]["Fn::Sub"]
    run = _substituted(body, LiveAucMargin="0.05")
    assert run["ClientToken"] == "<aws.scheduler.execution-id>" and run["ExecutionRoleArn"] == "MonitorJobRole-Arn"
    parsed = parser().parse_args(run["JobDriver"]["SparkSubmit"]["EntryPointArguments"])
    assert (parsed.command, parsed.engine, parsed.ledger_table, parsed.out) == (
        "monitor", "spark", "LedgerTable", "s3://ModelsBucket/monitoring")  # fmt: skip
    assert parsed.metrics_namespace == "microtarget" and parsed.margin == 0.05
    results = RESOURCES["ExperimentResultsSchedule"]["Properties"]["Target"]["Input"]["Fn::Sub"]
    arguments = _substituted(results)["JobDriver"]["SparkSubmit"]["EntryPointArguments"]
    assert parser().parse_args(arguments).metrics_namespace == "microtarget"


def _document(psi: float, shortfall: float) -> dict[str, Any]:
    live = {"roc_auc": 0.8 - shortfall, "calibration_error": 0.05, "auc_shortfall": shortfall}
    return {
        "drift": {"propensity": {"version": "v1", "max_psi": psi, "score": {"psi": 0.01}, "features": {"orders_total": {"psi": psi}}},
                  "segments": {"version": "s1", "max_psi": 0.02}},
        "performance": {"propensity": {"versions": {"v1": live}}},
    }  # fmt: skip


def test_the_cloudwatch_api_takes_the_job_alarms_as_declared(local_aws: LocalAws) -> None:
    cloudwatch = local_aws.client("cloudwatch")
    for name in ("ModelDriftAlarm", "ModelPerformanceAlarm"):
        props = RESOURCES[name]["Properties"] | {"AlarmActions": [], "OKActions": []}
        if props["Threshold"] == {"Ref": "LiveAucMargin"}:
            props["Threshold"] = 0.05
        cloudwatch.put_metric_alarm(AlarmName=f"{local_aws.stack_name}-{name}", **props)
    found = cloudwatch.describe_alarms(AlarmNamePrefix=local_aws.stack_name)["MetricAlarms"]
    assert {a["AlarmName"].rsplit("-", 1)[1] for a in found} >= {"ModelDriftAlarm", "ModelPerformanceAlarm"}
    dashboard = cloudwatch.get_dashboard(DashboardName=f"{local_aws.stack_name}-operations")
    assert json.loads(dashboard["DashboardBody"])["widgets"]  # the local stack created it from the template


def test_a_failed_batch_job_reaches_the_alarm_topic() -> None:
    rule = RESOURCES["BatchJobFailedRule"]
    assert rule["Condition"] == RESOURCES["AlarmTopicPolicy"]["Condition"] == "HasBatchEngine"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.emr-serverless"] and pattern["detail-type"] == [
        "EMR Serverless Job Run State Change"
    ]
    assert pattern["detail"] == {"state": ["FAILED", "CANCELLED"], "applicationId": [{"Ref": "BatchApplication"}]}
    for schedule in (
        "ExperimentResultsSchedule",
        "ModelMonitoringSchedule",
        "RetrainSchedule",
        "AudienceExportSchedule",
    ):
        body = RESOURCES[schedule]["Properties"]["Target"]["Input"]["Fn::Sub"]
        run = _substituted(body, LiveAucMargin="0.05", RetrainApproval="manual")
        assert 0 < run["ExecutionTimeoutMinutes"] <= 360, schedule  # a hung job ends, cancelled, and is reported
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "AlarmTopic"} and json.loads(target["InputTransformer"]["InputTemplate"])
    policy = {s["Sid"]: s for s in RESOURCES["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    assert policy["FailedJobsPublish"]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["BatchJobFailedRule", "Arn"]}}
    }
    assert policy["AlarmsPublish"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }  # the alarms still get through
    assert "sns:Publish" in policy["TheAccountUsesIt"]["Action"]  # the retraining role's own permission applies


def test_the_alarms_watch_the_worst_figure_the_job_sends() -> None:
    sent = list(monitor_cmd.metric_data(_document(0.4, 0.08)))
    worst = {d["MetricName"]: d["Value"] for d in sent if not d["Dimensions"]}
    assert worst == {"DriftMax": 0.4, "LiveAucShortfall": 0.08}
    drift, performance = RESOURCES["ModelDriftAlarm"]["Properties"], RESOURCES["ModelPerformanceAlarm"]["Properties"]
    assert (drift["MetricName"], drift["Threshold"], "Dimensions" in drift) == ("DriftMax", 0.25, False)
    assert drift["Threshold"] < worst["DriftMax"] and drift["ComparisonOperator"] == "GreaterThanThreshold"
    assert (performance["MetricName"], performance["Threshold"]) == ("LiveAucShortfall", {"Ref": "LiveAucMargin"})
    calm = {d["MetricName"]: d["Value"] for d in monitor_cmd.metric_data(_document(0.05, -0.01)) if not d["Dimensions"]}
    assert calm["DriftMax"] < 0.25 and calm["LiveAucShortfall"] < 0.05
    unmeasured = _document(0.05, 0.0)
    unmeasured["performance"]["propensity"]["versions"]["v1"] = {"status": "too few matured decisions"}
    assert "LiveAucShortfall" not in {d["MetricName"] for d in monitor_cmd.metric_data(unmeasured)}  # no 0 sent


def _sent(document: dict[str, Any]) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (d["MetricName"], tuple(x["Value"] for x in d["Dimensions"])): d["Value"]
        for d in monitor_cmd.metric_data(document)
    }


def test_the_live_figure_is_the_newest_version_measured_up_to_the_live_one() -> None:
    """A fresh promotion has no matured decisions for a label horizon: its predecessor's figures
    speak until then. After a rollback, the retired newer version's no longer do."""
    old, new = "20261101T000000Z-old", "20261201T000000Z-new"
    document = _document(0.05, 0.0)
    document["drift"]["propensity"]["version"] = new
    document["performance"]["propensity"]["versions"] = {
        old: {"roc_auc": 0.7, "calibration_error": 0.1, "auc_shortfall": 0.12},
        new: {"status": "too few matured decisions"},
    }
    sent = _sent(document)
    assert sent[("LiveAucShortfall", ())] == 0.12 and sent[("LiveRocAuc", ("propensity",))] == 0.7
    document["drift"]["propensity"]["version"] = old  # rolled back from a newer one that fell short
    document["performance"]["propensity"]["versions"] = {
        old: {"roc_auc": 0.79, "calibration_error": 0.05, "auc_shortfall": 0.01},
        new: {"roc_auc": 0.6, "calibration_error": 0.2, "auc_shortfall": 0.2},
    }
    sent = _sent(document)
    assert sent[("LiveAucShortfall", ())] == 0.01 and sent[("LiveRocAuc", ("propensity",))] == 0.79


class _Recorder:
    def __init__(self) -> None:
        self.names: set[str] = set()

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.names.add(name)

    def info(self, *args: Any, **kwargs: Any) -> None:
        pass


def _dashboard_metrics() -> tuple[set[tuple[str, str]], set[str]]:
    """(namespace, name) of every plotted metric, and the names the SEARCH expressions ask for."""
    body = _substituted(RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    plotted, searched = set(), set()
    for widget in body["widgets"]:
        previous: list[str] = []
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                searched |= set(re.findall(r'MetricName="(\w+)"', line[0]["expression"]))
                continue
            parts = [p for p in line if isinstance(p, str)]  # "." repeats the line above's part, "..." all of it
            parts = previous if parts[0] == "..." else [previous[i] if p == "." else p for i, p in enumerate(parts)]
            previous = parts
            plotted.add((parts[0], parts[1]))
    return plotted, searched


def test_every_metric_on_the_dashboard_is_one_the_code_sends() -> None:
    plotted, searched = _dashboard_metrics()
    recorder = _Recorder()
    report_batch(BatchReport(), recorder, recorder)
    functions = recorder.names | {f"Dispatch{o.title()}" for o in DISPATCH_OUTCOMES} | {"DispatchDeadLettered"}
    ours = {name for namespace, name in plotted if namespace == "microtarget"}
    assert ours <= functions, ours - functions
    assert {trigger_metric(kind) for kind in get_args(TriggerKind)} <= ours  # every trigger kind has its line
    assert {f"Dispatch{o.title()}" for o in DISPATCH_OUTCOMES} <= ours
    assert {("AWS/Lambda", "IteratorAge"), ("AWS/ApiGateway", "Latency"), ("AWS/ApiGateway", "5XXError")} <= plotted
    (experiment,) = compute(ledger_items(2_000, END, Planted(lift=0.2), seed=1), None, END)
    jobs = {d["MetricName"] for d in monitor_cmd.metric_data(_document(0.1, 0.0))}
    jobs |= {d["MetricName"] for d in results_cmd.metric_data(experiment)}
    assert searched <= jobs, searched - jobs
    assert {"DriftMax", "LiveRocAuc", "ExperimentConversionLift", "ExperimentCustomers"} <= searched


def test_the_retraining_job_publishes_models_and_tells_the_topic_and_nothing_more() -> None:
    assert {RESOURCES[n]["Condition"] for n in ("RetrainJobRole", "RetrainSchedule")} == {"HasBatchEngine"}
    granted = _granted("RetrainJobRole")
    by_sid = {s["Sid"]: (s["Action"], json.dumps(s["Resource"])) for s in granted}
    assert by_sid["TellsTheOutcome"] == ("sns:Publish", json.dumps({"Ref": "AlarmTopic"}))
    written = by_sid["PublishesModels"][1]
    assert all(
        f"/{m}/*" in written for m in ("propensity", "churn", "segments", "recommendations", "uplift", "training")
    )
    for store in ("ProfilesTable", "ContactsTable", "ContactsKey", "PseudonymSecret"):
        assert store not in json.dumps(granted), store
    assert by_sid["ScansTheLedger"] == ("dynamodb:Scan", json.dumps({"Fn::GetAtt": ["LedgerTable", "Arn"]}))  # uplift
    assert by_sid["ReadsTheCampaigns"][1].endswith('/config/campaigns.yaml"}')  # the experiments, no other config
    assert by_sid["ReadsTheCatalog"][1].endswith('/config/products.jsonl"}')  # the recommender's content signal
    assert "RetrainJobRole" in json.dumps(_granted("LearningLoopSchedulerRole"))
    body = RESOURCES["RetrainSchedule"]["Properties"]["Target"]["Input"]["Fn::Sub"]
    run = _substituted(body, RetrainApproval="manual")
    assert run["ExecutionRoleArn"] == "RetrainJobRole-Arn" and run["ClientToken"] == "<aws.scheduler.execution-id>"
    parsed = parser().parse_args(run["JobDriver"]["SparkSubmit"]["EntryPointArguments"])
    assert (parsed.command, parsed.engine, parsed.approval, parsed.topic) == (
        "retrain",
        "spark",
        "manual",
        "AlarmTopic",
    )
    assert parsed.reports == "s3://ModelsBucket/training" and parsed.environment == "Stage"
    assert parsed.ledger_table == "LedgerTable" and parsed.campaigns == "s3://ModelsBucket/config/campaigns.yaml"
    assert parsed.catalog == "s3://ModelsBucket/config/products.jsonl"  # where `training catalog` writes it
    assert load_template()["Parameters"]["RetrainApproval"]["Default"] == "manual"  # a person decides unless told


def test_a_scheduled_job_that_cannot_be_started_is_retried_then_kept_and_alarmed() -> None:
    starters = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Scheduler::Schedule"
                and r["Properties"]["Target"]["Arn"].endswith(":emrserverless:startJobRun")}  # fmt: skip
    assert set(starters) == {"AudienceExportSchedule", "ExperimentResultsSchedule", "ModelMonitoringSchedule",
                             "RetrainSchedule"}  # fmt: skip
    queue = {"Fn::GetAtt": ["JobScheduleDeadLetterQueue", "Arn"]}
    for name, schedule in starters.items():
        target = schedule["Properties"]["Target"]
        assert target["DeadLetterConfig"] == {"Arn": queue}, name
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 3, name
        role = target["RoleArn"]["Fn::GetAtt"][0]  # the role that starts the job may also keep its failure
        assert any(s["Action"] == "sqs:SendMessage" and s["Resource"] == queue for s in _granted(role)), name
    alarm = RESOURCES["JobScheduleFailedAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobScheduleDeadLetterQueue",
                                                                              "QueueName"]}}]  # fmt: skip
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] and alarm["Threshold"] == 1
