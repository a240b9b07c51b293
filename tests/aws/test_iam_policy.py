"""``docs/aws/iam-policy.json`` checked against the code: every AWS action the code calls, none it does not,
conditions on the tags the code actually writes and selects by; then linted with parliament.

The actions are derived from the source: every boto3 operation name (``describe_subnets``, or the string
given to ``paged``) used in a module of ``zerospof`` for a service the package builds clients for
(``client("ec2", ...)``), plus the chaostoolkit-aws activities it imports (a table below, which must
cover every one imported).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from zerospof.aws.fis import MARKER_TAG as FIS_MARKER
from zerospof.aws.nacl_blackhole import MARKER_TAG as NACL_MARKER
from zerospof.aws.nacl_blackhole import ORIGINAL_TAG
from zerospof.aws.sg_ingress_cut import MARKER_TAG as SG_MARKER
from zerospof.aws.sg_ingress_cut import RULE_TAG_PREFIX
from zerospof.aws.target import load_aws_target

REPO = Path(__file__).resolve().parents[2]
POLICY = json.loads((REPO / "docs" / "aws" / "iam-policy.json").read_text())
IAM_PREFIX = {"elbv2": "elasticloadbalancing"}
IAM_ACTION = {"s3:ListObjectsV2": "s3:ListBucket"}  # operations authorized under another action's name
OWN_NAMES = {"verify"}  # the Fault contract's own method, not kms:Verify (the suite never signs)
CHAOSAWS = {  # chaostoolkit-aws activity -> the IAM actions it needs
    "chaosaws.fis.actions.start_experiment": {"fis:StartExperiment", "fis:TagResource"},  # tags at start
    "chaosaws.fis.actions.stop_experiment": {"fis:StopExperiment"},
    "chaosaws.fis.probes.get_experiment": {"fis:GetExperiment"},
    "chaosaws.aws_client": set(),  # builds a client; its calls are found like ours
}
# parliament findings that are deliberate, with the reason (anything else fails the test)
ACCEPTED_FINDINGS = {
    ("RESOURCE_STAR", None): "read-only detection calls on resources named only in the user's target file",
    ("RESOURCE_MISMATCH", "ec2:ReplaceNetworkAclAssociation"):
        "authorized per resource: the subnet side is conditioned on the selection tags, the NACL side cannot be "
        "(the original NACL the revert swaps back to carries no tag of ours)",
    ("RESOURCE_MISMATCH", "route53:ChangeTagsForResource"):
        "tags only health checks (the sweep's marker before inverting one); parliament reads its two resource types "
        "(healthcheck, hostedzone) as both required",
    ("RESOURCE_MISMATCH", "fis:StartExperiment"):
        "authorized per resource: the template must carry zerospof/chaos=allowed, the new experiment our marker tag",
}


def _service_operations(service: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def derived_actions() -> dict[str, set[str]]:
    """``{IAM action: modules calling it}`` from the source of ``zerospof``."""
    modules = {path: path.read_text() for path in (REPO / "zerospof").rglob("*.py")
               if "lab" not in path.relative_to(REPO).parts}  # the lab calls only its own endpoints, never AWS
    services = set()
    for text in modules.values():
        services |= set(re.findall(r'client\("([a-z0-9-]+)"', text))
    operations = {service: _service_operations(service) for service in services}
    found: dict[str, set[str]] = {}
    for path, text in modules.items():
        local = set(re.findall(r'client\("([a-z0-9-]+)"', text))
        names = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chaosaws"):
                for alias in node.names:
                    qualified = f"{node.module}.{alias.name}"
                    assert qualified in CHAOSAWS, f"{path}: {qualified}: add its IAM actions to CHAOSAWS"
                    for action in CHAOSAWS[qualified]:
                        found.setdefault(action, set()).add(path.name)
        for name in names - OWN_NAMES:
            owners = [s for s in services if name in operations[s]]
            if len(owners) > 1:  # e.g. describe_tags: the module's own clients decide
                owners = [s for s in owners if s in local] or owners
            for service in owners:
                action = f"{IAM_PREFIX.get(service, service)}:{operations[service][name]}"
                found.setdefault(IAM_ACTION.get(action, action), set()).add(path.name)
    return found


def policy_actions() -> set[str]:
    actions = set()
    for statement in POLICY["Statement"]:
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def statements_for(action: str) -> list[dict]:
    return [s for s in POLICY["Statement"] if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def test_the_policy_allows_every_action_the_code_calls():
    missing = {action: sorted(where) for action, where in derived_actions().items() if action not in policy_actions()}
    assert missing == {}


def test_the_policy_allows_no_action_the_code_never_calls():
    assert sorted(policy_actions() - set(derived_actions())) == []


def test_every_change_is_conditioned_on_the_tags_the_code_writes_or_selects_by():
    selection = load_aws_target(REPO / "targets" / "staging.example.yaml").selection_tags
    assert NACL_MARKER == FIS_MARKER
    [create_acl] = statements_for("ec2:CreateNetworkAcl")
    assert create_acl["Condition"]["ForAnyValue:StringEquals"]["aws:TagKeys"] == [NACL_MARKER]
    [delete_acl] = statements_for("ec2:DeleteNetworkAcl")
    assert delete_acl["Condition"]["Null"] == {f"aws:ResourceTag/{NACL_MARKER}": "false"}
    subnet_tags = [s for s in statements_for("ec2:CreateTags") if s["Resource"].endswith(":subnet/*")]
    assert [sorted(s["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]) for s in subnet_tags] == \
        [sorted([NACL_MARKER, ORIGINAL_TAG])]
    group_tags = [s for s in statements_for("ec2:CreateTags") if s["Resource"].endswith(":security-group/*")]
    assert [s["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"] for s in group_tags] == \
        [[SG_MARKER, f"{RULE_TAG_PREFIX}*"]]
    selected = {f"aws:ResourceTag/{key}": value for key, value in selection.items()}
    for action in ("ec2:ReplaceNetworkAclAssociation", "ec2:CreateTags", "ec2:DeleteTags",
                   "ec2:RevokeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress"):
        on_tagged = [s for s in statements_for(action) if ":subnet/" in str(s["Resource"]) or ":security-group/" in str(s["Resource"])]
        assert on_tagged and all(s["Condition"]["StringEquals"] == selected for s in on_tagged), action
    stop = statements_for("fis:StopExperiment")
    assert [s["Condition"] for s in stop] == [{"Null": {f"aws:ResourceTag/{FIS_MARKER}": "false"}}]
    experiment = [s for s in statements_for("fis:StartExperiment") if s["Resource"].endswith(":experiment/*")]
    assert [s["Condition"] for s in experiment] == [{"Null": {f"aws:RequestTag/{FIS_MARKER}": "false"}}]


def test_parliament_finds_nothing_but_the_documented_exceptions():
    parliament = pytest.importorskip("parliament", reason="parliament (the IAM policy linter) is not installed")
    findings = parliament.analyze_policy_string(json.dumps(POLICY)).findings
    unexplained = []
    for finding in findings:
        actions = {item["action"] for item in finding.detail} if finding.issue == "RESOURCE_MISMATCH" else {None}
        unexplained += [(finding.issue, action) for action in actions if (finding.issue, action) not in ACCEPTED_FINDINGS]
    assert unexplained == []
