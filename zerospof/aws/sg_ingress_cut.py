"""``SecurityGroupIngressCut``: cut managed-EKS nodes off the API endpoint by revoking ingress on its security group.

For EKS with a private API endpoint, the control-plane ENIs in the VPC carry the cluster (or
additional control-plane) security group; nodes reach the API through its ingress rules on
TCP 443. Revoking the rules that cover ``api_port`` makes the control plane unreachable from
the nodes while the workloads keep serving. (If the endpoint is also public and nodes egress to
the internet, they reach the public endpoint instead: restrict ``publicAccessCidrs`` first.)
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from zerospof.cloud.boundary import CloudApiError
from zerospof.aws.fault_base import AwsFault
from zerospof.errors import FaultError, FaultNotInEffect

__all__ = ["MARKER_TAG", "RULE_TAG_PREFIX", "SecurityGroupIngressCut", "authorize_back", "rule_tags", "untag_group"]

_SOURCE_KEYS = ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds")
MARKER_TAG = "zerospof:fault"
RULE_TAG_PREFIX = "zerospof:rule:"  # one revoked rule per tag (compact JSON), for ``zerospof revert --target``
TAG_VALUE_MAX = 256  # AWS's limit on a tag value


def _covers(permission: dict[str, Any], port: int) -> bool:
    if permission.get("IpProtocol") == "-1":
        return True
    return permission.get("IpProtocol") == "tcp" and permission.get("FromPort", 0) <= port <= permission.get("ToPort", -1)


def _single_source(permission: dict[str, Any]) -> list[dict[str, Any]]:
    """Split a grouped IpPermission into one permission per source, so each can be restored on its own."""
    head = {k: permission[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in permission}
    split = []
    for key in _SOURCE_KEYS:
        for source in permission.get(key, []):
            source = {k: v for k, v in source.items() if k in ("CidrIp", "CidrIpv6", "GroupId", "PrefixListId", "Description", "UserId")}
            split.append({**head, key: [source]})
    return split


class SecurityGroupIngressCut(AwsFault):
    """Revoke every ingress rule covering ``api_port`` on the tagged control-plane security groups.

    params: ``region``, ``selection_tags`` + ``security_group_tags`` (a group must carry all),
    ``api_port``, ``allowed_account_ids``, optional ``endpoint_url``. ``prepare`` records each
    rule (one source per rule) before anything changes; ``inject`` first writes each group's rules
    on the group itself (a ``zerospof:fault`` marker and one ``zerospof:rule:<n>`` tag per rule,
    compact JSON; a rule longer than a tag value allows is in the ledger only), then revokes them;
    ``revert`` authorizes back the recorded rules that are missing, only on groups that carry the
    selection tags and only rules covering ``api_port`` (a tampered record cannot open anything
    else), and removes the tags. Idempotent.
    """

    kind = "sg-ingress-cut"

    def describe(self) -> str:
        return f"{self.kind}(region={self.params.get('region')}, port={self.params.get('api_port', 443)})"

    def _groups(self) -> list[dict[str, Any]]:
        tags = {**self.params["selection_tags"], **self.params.get("security_group_tags", {})}
        filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in sorted(tags.items())]
        return self.client("ec2").describe_security_groups(Filters=filters).get("SecurityGroups", [])

    def _matching_rules(self) -> dict[str, list[dict[str, Any]]]:
        port = int(self.params.get("api_port", 443))
        return {group["GroupId"]: [rule for permission in group.get("IpPermissions", []) if _covers(permission, port)
                                   for rule in _single_source(permission)]
                for group in self._groups()}

    def prepare(self) -> None:
        self.check_account()
        rules = self._matching_rules()
        if not rules:
            raise FaultError("no security group carries the selection and security_group_tags; nothing to cut")
        self.undo = {"rules": rules, "marker": uuid.uuid4().hex}

    def inject(self) -> None:
        ec2 = self.client("ec2")
        for group_id, rules in sorted(self.undo["rules"].items()):
            ec2.create_tags(Resources=[group_id], Tags=rule_tags(self.undo["marker"], rules))
            for rule in rules:
                try:
                    ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
                except CloudApiError as exc:
                    if exc.code != "InvalidPermission.NotFound":
                        raise

    def verify(self) -> None:
        left = {group: rules for group, rules in self._matching_rules().items() if rules and group in self.undo.get("rules", {})}
        if left:
            raise FaultNotInEffect(f"ingress to the API port still allowed: {left}")

    def revert(self) -> None:
        ec2 = self.client("ec2")
        if not self.undo.get("rules"):
            return  # prepare never finished: nothing was changed
        tagged = {group["GroupId"] for group in self._groups()}
        port = int(self.params.get("api_port", 443))
        refused = []
        for group_id, rules in sorted(self.undo.get("rules", {}).items()):
            if group_id not in tagged:  # a record cannot open a group that does not carry the tags
                refused.append(f"{group_id} does not carry the selection tags; left alone")
                continue
            safe = [rule for rule in rules if _covers(rule, port)]  # nor add a rule this fault could not have revoked
            refused += [f"{group_id}: a recorded rule does not cover port {port}; not added: {rule}"
                        for rule in rules if rule not in safe]
            authorize_back(ec2, group_id, safe)
            if self.undo.get("marker"):
                untag_group(ec2, group_id, self.undo["marker"])
        if refused:
            raise FaultError("revert refused part of the record: " + "; ".join(refused))


def authorize_back(ec2: Any, group_id: str, rules: list[dict[str, Any]]) -> None:
    """Authorize each of ``rules`` on ``group_id`` again; one already there, or a group gone, is fine (idempotent)."""
    for rule in rules:
        try:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
        except CloudApiError as exc:
            if exc.code not in ("InvalidPermission.Duplicate", "InvalidGroup.NotFound"):
                raise


def rule_tags(marker: str, rules: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The tags that say, on the group itself, which rules a cut revoked (those short enough for a tag value)."""
    tags = [{"Key": MARKER_TAG, "Value": marker}]
    for index, rule in enumerate(rules):
        value = json.dumps(rule, separators=(",", ":"), sort_keys=True)
        if len(value) <= TAG_VALUE_MAX:
            tags.append({"Key": f"{RULE_TAG_PREFIX}{index}", "Value": value})
    return tags


def untag_group(ec2: Any, group_id: str, marker: str | None) -> None:
    """Remove the marker and rule tags from a group when they are ``marker``'s (any marker when None); idempotent."""
    try:
        tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [group_id]}]).get("Tags", [])
    except CloudApiError as exc:
        if exc.is_not_found:
            return
        raise
    values = {tag["Key"]: tag["Value"] for tag in tags}
    if MARKER_TAG not in values or (marker is not None and values[MARKER_TAG] != marker):
        return
    ours = [{"Key": key} for key in values if key == MARKER_TAG or key.startswith(RULE_TAG_PREFIX)]
    ec2.delete_tags(Resources=[group_id], Tags=ours)
