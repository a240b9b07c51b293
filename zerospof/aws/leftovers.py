"""What zerospof left in an AWS target, found in the target itself, and restored: no ledger needed.

``zerospof revert --target FILE`` on a fresh CI runner (the ledger was on the runner that died) calls
:func:`restore_leftovers`. In every region of the target file (primary and DR), after the account
allow-list check:

- **NACL blackholes**: every network ACL tagged ``zerospof:fault`` (the deny-all NACLs a
  :class:`~zerospof.aws.nacl_blackhole.NaclBlackhole` creates). Each subnet still on one goes back
  to the NACL its ``zerospof:original-nacl`` tag names (written before the swap); the tags are
  removed and the deny-all NACL deleted once nothing uses it. A subnet without that tag is left
  alone and reported (its original is unknown: the guard fails closed).
- **FIS experiments**: every ``pending``/``initiating``/``running`` experiment tagged ``zerospof:fault``
  is stopped.
- **GitOps controllers** (each cluster of the target file, in its GitOps controllers' namespaces):
  scaled-down workloads and suspended Flux Kustomizations zerospof marked (:mod:`zerospof.k8s.leftovers`).

- **Security-group rules** revoked by the managed control-plane fault: every group tagged
  ``zerospof:fault`` gets back each rule its ``zerospof:rule:<n>`` tags hold (a rule too long for a
  tag value is in the ledger only), then the tags are removed.
- **SPOF sweep faults** on what ``inventory`` names: a KMS key (in every region holding it) tagged
  ``zerospof:fault`` is enabled again and untagged; a Route 53 health check of an ``inventory.dns`` record
  tagged ``zerospof:fault`` is un-inverted and untagged.
"""

from __future__ import annotations

import json
from typing import Any

from zerospof.aws.clients import AwsClients, paged
from zerospof.aws.nacl_blackhole import MARKER_TAG, ORIGINAL_TAG, untag_subnet
from zerospof.aws.run import preflight
from zerospof.aws.sg_ingress_cut import RULE_TAG_PREFIX, authorize_back, untag_group
from zerospof.aws.target import AwsTarget
from zerospof.cloud.boundary import CloudApiError
from zerospof.cloud.leftovers import Leftover
from zerospof.k8s.clients import KubeClients
from zerospof.k8s.leftovers import restore_kube_leftovers

__all__ = ["restore_leftovers"]

ACTIVE_FIS_STATES = ("pending", "initiating", "running")


def _regions(target: AwsTarget) -> list[str]:
    return [target.primary_region] + ([target.dr_region] if target.dr_region else [])


def restore_leftovers(target: AwsTarget, clients: AwsClients | None = None) -> list[Leftover]:
    """Find and restore every zerospof leftover in ``target``'s regions; return what was found (idempotent)."""
    clients = clients or AwsClients(target.endpoint_url)
    preflight(target, clients)
    found: list[Leftover] = []
    for region in _regions(target):
        found += _nacl_leftovers(clients.client("ec2", region))
        found += _security_group_leftovers(clients.client("ec2", region))
        found += _fis_leftovers(clients.client("fis", region))
    found += _sweep_leftovers(target, clients)
    for cluster in target.clusters:
        namespaces = {c.namespace for c in target.gitops_controllers if c.cluster == cluster.name}
        if namespaces:
            kube = KubeClients(cluster.context, target.allowed_contexts, cluster.kubeconfig)
            found += restore_kube_leftovers(kube, namespaces)
    return found


def _sweep_leftovers(target: AwsTarget, clients: AwsClients) -> list[Leftover]:
    """KMS keys disabled and health checks inverted by ``zerospof spof`` (``kms_disable``, ``health_check_invert``)."""
    from zerospof.aws.health_check_invert import ROUTE53_REGION, uninvert
    from zerospof.aws.kms_disable import enable_marked
    from zerospof.aws.members import key_regions, record_sets
    from zerospof.aws.probes import region_key_id

    found = []
    for key_id in target.inventory.kms_keys:
        try:
            regions = key_regions(clients, target.primary_region, key_id)
        except CloudApiError as exc:
            found.append(Leftover("kms-key", key_id, "find its regions", False, str(exc)))
            continue
        for region in regions:
            replica = region_key_id(key_id, region)
            found += _restored("kms-key", f"{replica}@{region}", "enable the key",
                               lambda: enable_marked(clients.client("kms", region), replica))
    if target.inventory.dns is not None:
        route53 = clients.client("route53", ROUTE53_REGION)
        checks = {s["HealthCheckId"] for name in target.inventory.dns.records
                  for s in record_sets(target, clients, name) if s.get("HealthCheckId")}
        for check in sorted(checks):
            found += _restored("route53-health-check", check, "un-invert the health check",
                               lambda: uninvert(route53, check))
    return found


def _restored(kind: str, resource: str, action: str, restore: Any) -> list[Leftover]:
    """Run ``restore`` (True: it was zerospof's and is restored; False: nothing of ours) as a Leftover, if any."""
    try:
        ours = restore()
    except CloudApiError as exc:
        return [Leftover(kind, resource, action, False, str(exc))]
    return [Leftover(kind, resource, action, True)] if ours else []


def _tag(resource: dict[str, Any], key: str) -> str | None:
    return next((tag["Value"] for tag in resource.get("Tags", []) if tag["Key"] == key), None)


def _nacl_leftovers(ec2: Any) -> list[Leftover]:
    found = []
    deny_acls = list(paged(ec2, "describe_network_acls", "NetworkAcls", Filters=[{"Name": "tag-key", "Values": [MARKER_TAG]}]))
    for acl in deny_acls:
        marker, acl_id = _tag(acl, MARKER_TAG), acl["NetworkAclId"]
        stuck = False
        for association in acl.get("Associations", []):
            subnet_id = association["SubnetId"]
            tags = {t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[
                {"Name": "resource-id", "Values": [subnet_id]}])["Tags"]}
            original = tags.get(ORIGINAL_TAG) if tags.get(MARKER_TAG) == marker else None
            action = f"back from deny-all NACL {acl_id} to {original or '(unknown)'}"
            if original is None:
                stuck = True
                found.append(Leftover("nacl-association", subnet_id, action, False,
                                      f"no {ORIGINAL_TAG} tag of this fault on the subnet: its original NACL is unknown "
                                      "(revert with the run's ledger, or associate it by hand)"))
                continue
            try:
                ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"],
                                                    NetworkAclId=original)
                untag_subnet(ec2, subnet_id, str(marker))
            except CloudApiError as exc:
                stuck = True
                found.append(Leftover("nacl-association", subnet_id, action, False, str(exc)))
                continue
            found.append(Leftover("nacl-association", subnet_id, action, True))
        if stuck:
            found.append(Leftover("network-acl", acl_id, "delete the deny-all NACL", False, "subnets still use it"))
            continue
        try:
            ec2.delete_network_acl(NetworkAclId=acl_id)
        except CloudApiError as exc:
            found.append(Leftover("network-acl", acl_id, "delete the deny-all NACL", False, str(exc)))
        else:
            found.append(Leftover("network-acl", acl_id, "delete the deny-all NACL", True))
    return found


def _security_group_leftovers(ec2: Any) -> list[Leftover]:
    found = []
    groups = paged(ec2, "describe_security_groups", "SecurityGroups", Filters=[{"Name": "tag-key", "Values": [MARKER_TAG]}])
    for group in groups:
        group_id = group["GroupId"]
        rules = [json.loads(tag["Value"]) for tag in sorted(group.get("Tags", []), key=lambda t: t["Key"])
                 if tag["Key"].startswith(RULE_TAG_PREFIX)]
        action = f"authorize back {len(rules)} revoked ingress rule(s)"
        try:
            authorize_back(ec2, group_id, rules)
            untag_group(ec2, group_id, None)
        except CloudApiError as exc:
            found.append(Leftover("security-group", group_id, action, False, str(exc)))
        else:
            found.append(Leftover("security-group", group_id, action, True))
    return found


def _fis_leftovers(fis: Any) -> list[Leftover]:
    found = []
    for experiment in _fis_experiments(fis):
        if MARKER_TAG not in (experiment.get("tags") or {}) or experiment["state"]["status"] not in ACTIVE_FIS_STATES:
            continue
        try:
            fis.stop_experiment(id=experiment["id"])
        except CloudApiError as exc:
            found.append(Leftover("fis-experiment", experiment["id"], "stop", False, str(exc)))
        else:
            found.append(Leftover("fis-experiment", experiment["id"], "stop", True))
    return found


def _fis_experiments(fis: Any, max_pages: int = 100) -> list[dict[str, Any]]:
    """Every FIS experiment of the region (FIS pages with ``nextToken``, not ``NextToken``)."""
    experiments, token = [], None
    for _ in range(max_pages):
        page = fis.list_experiments(**({"nextToken": token} if token else {}))
        experiments += page.get("experiments", [])
        token = page.get("nextToken")
        if not token:
            break
    return experiments
