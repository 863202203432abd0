"""template.yaml is the one source of truth: it lints, and it says what the design promises."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local.template import ROOT, load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")


def statements(function: str) -> list[dict[str, Any]]:
    """What the function may do: the statements of its own role."""
    role = FUNCTIONS[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [s for p in RESOURCES[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def tools_bin() -> Path:
    path = Path(os.environ.get("TOOLS_BIN", ROOT / ".venv-tools" / "bin"))
    if not (path / "sam").exists():
        pytest.skip("SAM CLI tools environment missing: run `make tools` (make test does)")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["sam", "validate", "--lint", "--region", "us-east-1"], ["cfn-lint", "template.yaml"]]
)
def test_template_passes_sam_validate_and_cfn_lint(command: list[str]) -> None:
    binary = tools_bin() / command[0]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([str(binary), *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ingest_event_source_reports_partial_failures_and_has_an_on_failure_destination() -> None:
    source = RESOURCES["IngestFunction"]["Properties"]["Events"]["SiteEvents"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BisectBatchOnFunctionError"] is True
    # a dependency outage is retried until it ends (bounded by record age, well inside the stream's
    # retention so `ops replay` can still re-read what was given up), never skipped after a few tries
    assert source["MaximumRetryAttempts"] == -1
    retention = RESOURCES["EventsStream"]["Properties"]["RetentionPeriodHours"] * 3600
    assert 3600 <= source["MaximumRecordAgeInSeconds"] <= retention - 3 * 86400
    assert source["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["IngestFailureQueue", "Arn"]}
    assert 1 <= source["BatchSize"] <= 1000 and source["MaximumBatchingWindowInSeconds"] <= 5


def test_tables_are_on_demand_recoverable_and_encrypted() -> None:
    for name, table in resources_of_type(TEMPLATE, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name


def test_buckets_are_versioned_encrypted_and_private() -> None:
    buckets = resources_of_type(TEMPLATE, "AWS::S3::Bucket")
    assert {"DataLakeBucket", "ModelsBucket"} <= set(buckets)
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"]["Status"] == "Enabled", name
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        assert all(props["PublicAccessBlockConfiguration"].values()), name


def test_no_policy_grants_wildcard_actions() -> None:
    def actions(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [a for key, value in node.items() if key == "Action" for a in _as_list(value)]
            return found + [a for value in node.values() for a in actions(value)]
        if isinstance(node, list):
            return [a for value in node for a in actions(value)]
        return []

    iam = {
        name: {k: v for k, v in spec.items() if k != "Properties"} | {"Properties": _no_key_policy(spec)}
        for name, spec in RESOURCES.items()
    }
    granted = actions(iam)
    assert granted, "expected policies in the template"
    denied = [s["Action"] for p in resources_of_type(TEMPLATE, "AWS::S3::BucketPolicy").values()
              for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]  # fmt: skip
    assert not [a for a in granted if a == "*" or (a.endswith(":*") and a not in denied)]


def test_functions_have_their_own_roles_with_no_managed_policies_and_their_own_log_groups() -> None:
    """SAM's generated roles add AWSLambdaSQSQueueExecutionRole / AWSLambdaKinesisExecutionRole,
    which allow reading every queue (the rejected records' too) and every stream: not here."""
    for name, function in FUNCTIONS.items():
        props = function["Properties"]
        role = RESOURCES[props["Role"]["Fn::GetAtt"][0]]["Properties"]
        assert "ManagedPolicyArns" not in role and "Policies" not in props, name
        group = RESOURCES[props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        for statement in statements(name):
            if _as_list(statement["Action"]) == ["scheduler:ListSchedules"]:  # no resource-level scope exists
                continue
            assert "*" not in json.dumps(statement["Resource"]).replace("/*", ""), (name, statement["Sid"])
    sqs_reads = {
        name: [s["Resource"] for s in statements(name) if "sqs:ReceiveMessage" in _as_list(s["Action"])]
        for name in FUNCTIONS
    }
    assert sqs_reads == {
        "IngestFunction": [],
        "ArchiveFunction": [],
        "ApiFunction": [],
        "PrivacyFunction": [],
        # the erasure job searches the dead letters (and releases every other message at once)
        "ErasureJobFunction": [[{"Fn::GetAtt": [q, "Arn"]} for q in ("RejectedEventsQueue", "TriggerDeadLetterQueue")]],
        "DispatchFunction": [{"Fn::GetAtt": ["TriggerQueue", "Arn"]}],
        "RekeyFunction": [],  # dead letters keep an older pid until they expire (the erasure finds every version)
    }
    stream_reads = [n for n in FUNCTIONS for s in statements(n) if "kinesis:GetRecords" in _as_list(s["Action"])]
    assert stream_reads == ["IngestFunction"]


def test_every_stateful_resource_survives_a_stack_deletion_or_replacement() -> None:
    stateful = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::KMS::Key",
                "AWS::SecretsManager::Secret", "AWS::Kinesis::Stream")  # fmt: skip
    for name, spec in RESOURCES.items():
        if spec["Type"] in stateful:
            assert (spec.get("DeletionPolicy"), spec.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name


def test_buckets_refuse_requests_without_tls() -> None:
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p for p in resources_of_type(TEMPLATE, "AWS::S3::BucketPolicy").values()
    }
    for bucket in resources_of_type(TEMPLATE, "AWS::S3::Bucket"):
        (statement,) = policies[bucket]["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": False}}


def test_the_api_stage_writes_access_logs_without_bodies_or_ids() -> None:
    setting = RESOURCES["DecisionsApi"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in setting["Format"] and "body" not in setting["Format"].lower()
    assert "$context.path" not in setting["Format"]  # the resource path only: a real path carries the customer id


def test_the_contacts_key_itself_lets_only_dispatch_the_access_export_and_the_rekey_job_decrypt() -> None:
    """The key policy, not IAM, decides: the account administers the key but cannot use it, the
    dispatch role (to send), the privacy role (which stores contact details, and shows the
    customer their own in the access export) and the rekey job (re-sealing) alone may decrypt."""
    import fnmatch

    key = RESOURCES["ContactsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    # what a principal could do with contacts, directly or through a grant it gives itself
    powers = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
              "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant")  # fmt: skip
    uses = {}
    for statement in key["KeyPolicy"]["Statement"]:
        patterns = _as_list(statement["Action"])
        matched = [p for p in powers if any(fnmatch.fnmatchcase(p, pattern) for pattern in patterns)]
        uses[json.dumps(statement["Principal"])] = matched
    assert uses == {
        json.dumps({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}): [],
        json.dumps({"AWS": {"Fn::GetAtt": ["DispatchRole", "Arn"]}}): ["kms:Decrypt"],
        json.dumps({"AWS": {"Fn::GetAtt": ["PrivacyRole", "Arn"]}}): ["kms:Encrypt", "kms:Decrypt"],
        # a key rotation re-seals each customer's details under the new pid's encryption context
        json.dumps({"AWS": {"Fn::GetAtt": ["RekeyRole", "Arn"]}}): ["kms:Encrypt", "kms:Decrypt"],
    }


def test_contacts_are_readable_only_by_dispatch_the_access_export_and_the_rekey_job() -> None:
    """Ingest, api, the archive and the erasure job cannot read contact details: no read action
    on the table, no decrypt."""
    reads = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "kms:Decrypt"}
    readers = set()
    for name in FUNCTIONS:
        for statement in statements(name):
            targets = json.dumps(statement.get("Resource"))
            if ("ContactsTable" in targets or "ContactsKey" in targets) and reads & set(_as_list(statement["Action"])):
                readers.add(name)
    # the erasure job scans the table for its retention sweep (which pids, when): ciphertext at
    # most, and the key policy (test above) gives it no decrypt
    assert readers == {"DispatchFunction", "PrivacyFunction", "ErasureJobFunction", "RekeyFunction"}
    assert "ContactsKey" not in json.dumps(statements("ErasureJobFunction"))
    assert "ContactsTable" not in json.dumps(statements("ApiFunction"))  # the campaign side never touches them


def test_retention_is_configurable_with_defaults_and_reaches_every_store() -> None:
    parameters = TEMPLATE["Parameters"]
    defaults = {name: str(parameters[name]["Default"]) for name in parameters if name.endswith("RetentionDays")}
    assert defaults == {"LogRetentionDays": "30", "ProfileRetentionDays": "730", "ContactRetentionDays": "30",
                        "LedgerRetentionDays": "180", "DeadLetterRetentionDays": "14", "LakeRetentionDays": "1095"}  # fmt: skip
    for table in ("ProfilesTable", "LedgerTable", "PrivacyTable", "IdempotencyTable"):
        assert RESOURCES[table]["Properties"]["TimeToLiveSpecification"]["Enabled"] is True, table
    for queue in ("RejectedEventsQueue", "TriggerDeadLetterQueue"):
        period = RESOURCES[queue]["Properties"]["MessageRetentionPeriod"]
        assert period == {"Fn::FindInMap": ["DeadLetterRetention", {"Ref": "DeadLetterRetentionDays"}, "Seconds"]}
    rules = {r["Prefix"]: r for r in RESOURCES["DataLakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["events/"]["ExpirationInDays"] == {"Ref": "LakeRetentionDays"}
    assert all(rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1 for rule in rules.values())
    env = lambda fn: FUNCTIONS[fn]["Properties"]["Environment"]["Variables"]  # noqa: E731
    for fn in ("IngestFunction", "PrivacyFunction", "ErasureJobFunction"):
        assert env(fn)["PROFILE_RETENTION_DAYS"] == {"Ref": "ProfileRetentionDays"}, fn
    for fn in ("IngestFunction", "ApiFunction", "DispatchFunction", "PrivacyFunction", "ErasureJobFunction"):
        assert env(fn)["LEDGER_RETENTION_DAYS"] == {"Ref": "LedgerRetentionDays"}, fn


def _no_key_policy(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.get("Properties", {}).items() if k != "KeyPolicy"}


def test_firehose_archives_the_stream_to_the_data_lake_as_pseudonymized_json_lines() -> None:
    props = RESOURCES["ArchiveDeliveryStream"]["Properties"]
    assert props["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == {"Fn::GetAtt": ["EventsStream", "Arn"]}
    destination = props["ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"].startswith("events/year=")
    transform, delimiter = destination["ProcessingConfiguration"]["Processors"]
    assert (transform["Type"], delimiter["Type"]) == ("Lambda", "AppendDelimiterToRecord")
    arn = {p["ParameterName"]: p["ParameterValue"] for p in transform["Parameters"]}["LambdaArn"]
    assert arn == {"Fn::GetAtt": ["ArchiveFunction", "Arn"]}
    # Firehose may invoke only that function; the function may read only the pseudonym key and tombstones
    role = [s for p in RESOURCES["ArchiveRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    invoke = [s for s in role if "lambda:InvokeFunction" in _as_list(s["Action"])]
    assert [s["Resource"] for s in invoke] == [arn]
    assert [_as_list(s["Action"]) for s in statements("ArchiveFunction") if s["Sid"] != "OwnLogs"] == [
        ["secretsmanager:GetSecretValue"],
        ["dynamodb:BatchGetItem"],
    ]


def test_functions_use_both_layers_and_powertools_settings() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.12"
    assert {layer["Ref"] for layer in function_globals["Layers"]} == {"CoreLayer", "DependenciesLayer"}
    assert "POWERTOOLS_SERVICE_NAME" in function_globals["Environment"]["Variables"]


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_campaign_routes_require_an_api_key_and_personal_data_routes_iam_only() -> None:
    apis = resources_of_type(TEMPLATE, "AWS::Serverless::Api")
    assert apis, "expected the decisions API"
    for name, api in apis.items():
        auth = api["Properties"]["Auth"]
        assert auth["ApiKeyRequired"] is True and auth["UsagePlan"]["CreateUsagePlan"] != "NONE", name
        assert auth["UsagePlan"]["Throttle"]["RateLimit"] > 0
    routes = {
        (event["Properties"]["Path"], event["Properties"]["Method"]): (function, event["Properties"])
        for function, spec in resources_of_type(TEMPLATE, "AWS::Serverless::Function").items()
        for event in spec["Properties"].get("Events", {}).values()
        if event["Type"] in ("Api", "HttpApi")
    }
    assert routes and all(route["RestApiId"]["Ref"] in apis for _f, route in routes.values())
    personal = {key for key, (function, _r) in routes.items() if function == "PrivacyFunction"}
    assert personal == {
        ("/v1/customers/{customer_id}", "delete"),
        ("/v1/erasures/{erasure_id}", "get"),
        ("/v1/customers/{customer_id}/data", "get"),
        ("/v1/customers/{customer_id}/consent", "put"),
        ("/v1/customers/{customer_id}/contact", "put"),
        ("/v1/customers/{customer_id}/contact", "delete"),
    }
    for key, (_function, route) in routes.items():
        auth = route.get("Auth", {})
        if key in personal:  # SigV4 from a holder of PrivacyOperatorPolicy; the campaign key opens none
            assert auth == {"Authorizer": "AWS_IAM", "ApiKeyRequired": False}, key
        else:
            assert auth.get("ApiKeyRequired", True) is True and "Authorizer" not in auth, key

    def granted(policy: str) -> set[str]:
        statement = RESOURCES[policy]["Properties"]["PolicyDocument"]["Statement"][0]
        return {arn["Fn::Sub"].split("${DecisionsApi}/*/")[1] for arn in statement["Resource"]}

    assert granted("PrivacyOperatorPolicy") == {"DELETE/v1/customers/*", "GET/v1/customers/*/data", "GET/v1/erasures/*"}
    assert granted("CustomerDataWriterPolicy") == {
        "PUT/v1/customers/*/contact", "DELETE/v1/customers/*/contact", "PUT/v1/customers/*/consent"
    }  # fmt: skip


def test_api_gateway_routes_every_operation_of_the_openapi_document() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    events = RESOURCES["ApiFunction"]["Properties"]["Events"].values()
    routed = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events if e["Type"] == "Api"}
    assert routed - {("/v1/openapi.json", "get")} == documented  # a route missing here is a 403 once deployed


def test_the_personal_data_document_is_current_and_routed() -> None:
    from local.openapi import document

    committed = json.loads((ROOT / "docs" / "privacy-openapi.json").read_text())
    assert document("privacy") == committed, "drifted: run `make openapi` and commit docs/privacy-openapi.json"
    documented = {(path, method) for path, operations in committed["paths"].items() for method in operations}
    events = RESOURCES["PrivacyFunction"]["Properties"]["Events"].values()
    assert {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events} == documented


def test_only_ingest_and_api_may_read_profiles_and_nobody_writes_models() -> None:
    for name in FUNCTIONS:
        granted = statements(name)
        writes = [a for s in granted for a in _as_list(s["Action"]) if a.startswith("s3:Put")]
        assert all(
            not str(s["Resource"]).count("ModelsBucket") for s in granted if set(_as_list(s["Action"])) & set(writes)
        ), name


def test_the_batch_engine_has_a_least_privilege_role_and_its_schedule_runs_a_real_command() -> None:
    """EMR Serverless runs the CLI on Spark (only when an image is given); its role reads the lake
    and models, writes its own outputs, and touches no personal-data store; the scheduled job's
    arguments are a command the CLI parses."""
    import re

    from training.cli import parser

    assert RESOURCES["BatchApplication"]["Type"] == "AWS::EMRServerless::Application"
    assert {RESOURCES[n]["Condition"] for n in ("BatchApplication", "BatchJobRole")} == {"HasBatchEngine"}
    granted = [s for p in RESOURCES["BatchJobRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    text = json.dumps(granted)
    for store in ("ProfilesTable", "ContactsTable", "LedgerTable", "ContactsKey", "DeadLetters", "IdempotencyTable"):
        assert store not in text, store
    secret = [s for s in granted if "PseudonymSecret" in json.dumps(s)]
    assert [s["Action"] for s in secret] == ["secretsmanager:GetSecretValue"]  # audience --match only
    puts = [s for s in granted if {"s3:PutObject", "s3:DeleteObject"} & set(_as_list(s["Action"]))]
    assert all(
        "events/" not in json.dumps(s["Resource"]) and "ModelsBucket" not in json.dumps(s["Resource"]) for s in puts
    )
    body = RESOURCES["AudienceExportSchedule"]["Properties"]["Target"]["Input"]["Fn::Sub"]
    run = json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: m[1].replace(".", "-"), body))
    assert run["ClientToken"] == "<aws.scheduler.execution-id>"  # a retried delivery starts one job, not two
    arguments = run["JobDriver"]["SparkSubmit"]["EntryPointArguments"]
    parsed = parser().parse_args(arguments)
    assert (parsed.command, parsed.engine, parsed.spark_work) == ("audience", "spark", "s3://DataLakeBucket/batch-work")
    assert run["JobDriver"]["SparkSubmit"]["EntryPoint"].endswith("/training/emr_job.py")
    assert (ROOT / "training/emr_job.py").is_file() and (ROOT / "ops/emr/Dockerfile").is_file()


def test_the_results_job_reads_only_the_ledger_and_the_campaigns_and_writes_only_results() -> None:
    import re

    from training.cli import parser

    assert {RESOURCES[n]["Condition"] for n in ("ResultsJobRole", "ExperimentResultsSchedule")} == {"HasBatchEngine"}
    granted = [
        s for p in RESOURCES["ResultsJobRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
    ]
    by_sid = {s["Sid"]: (s["Action"], json.dumps(s["Resource"])) for s in granted}
    assert by_sid["ScansTheLedger"][0] == "dynamodb:Scan" and "LedgerTable" in by_sid["ScansTheLedger"][1]
    assert by_sid["PublishesResults"] == ("s3:PutObject", json.dumps({"Fn::Sub": "${ModelsBucket.Arn}/results/*"}))
    for store in ("ProfilesTable", "ContactsTable", "ContactsKey", "PseudonymSecret", "PrivacyTable", "events/"):
        assert store not in json.dumps(granted), store
    body = RESOURCES["ExperimentResultsSchedule"]["Properties"]["Target"]["Input"]["Fn::Sub"]
    run = json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: m[1].replace(".", "-"), body))
    assert run["ClientToken"] == "<aws.scheduler.execution-id>" and run["ExecutionRoleArn"] == "ResultsJobRole-Arn"
    parsed = parser().parse_args(run["JobDriver"]["SparkSubmit"]["EntryPointArguments"])
    assert (parsed.command, parsed.ledger_table, parsed.out) == ("results", "LedgerTable", "s3://ModelsBucket/results")
