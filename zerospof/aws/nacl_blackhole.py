"""``NaclBlackhole``: cut subnets off by swapping their network ACL association to a deny-all NACL.

This is the AWS FIS ``aws:network:disrupt-connectivity`` recipe, done with plain EC2 calls so it
can be recorded, dry-run and reverted from a ledger record: an AZ failure blackholes one AZ's
tagged subnets, a region failure every tagged subnet of the region.
"""

from __future__ import annotations

import uuid
from typing import Any

from zerospof.cloud.boundary import CloudApiError
from zerospof.aws.clients import paged
from zerospof.aws.fault_base import AwsFault
from zerospof.aws.safety import check_no_self_lockout
from zerospof.errors import FaultError, FaultNotInEffect

__all__ = ["MARKER_TAG", "ORIGINAL_TAG", "NaclBlackhole"]

MARKER_TAG = "zerospof:fault"
ORIGINAL_TAG = "zerospof:original-nacl"  # on a swapped subnet: the NACL to put back (``zerospof revert --target``)


class NaclBlackhole(AwsFault):
    """Blackhole the tagged subnets of some AZs (all AZs of the region when none are named).

    params: ``region``, ``availability_zones`` (list; empty = every AZ), ``selection_tags``
    (only subnets with all of them are touched), optional ``subnet_ids`` (only these of them: e.g. a
    load balancer's subnet in one AZ), ``allowed_account_ids``, ``runner_subnet_ids``,
    ``allow_runner_blackhole``, optional ``endpoint_url``.

    ``prepare`` records every subnet's original NACL and a marker; ``inject`` creates one deny-all
    NACL per VPC (tagged with the marker, so revert finds it even if the run dies before the id is
    saved) and swaps each subnet's association to it, checkpointing after each step. Before a swap
    the subnet is tagged with the marker and its original NACL (``ORIGINAL_TAG``), so the target
    itself says how to undo it when no ledger is at hand (``zerospof revert --target``). ``revert``
    reads each subnet's current association, puts back the original NACL where ours (carrying the
    marker tag) is in place, removes the tags and deletes the deny-all NACLs carrying the marker;
    nothing else is touched. Revert is idempotent and needs only params and undo.
    """

    kind = "nacl-blackhole"

    def describe(self) -> str:
        zones = ",".join(self.params.get("availability_zones") or ["all"])
        subnets = f", subnets={','.join(self.params['subnet_ids'])}" if self.params.get("subnet_ids") else ""
        return f"{self.kind}(region={self.params.get('region')}, zones={zones}{subnets})"

    # -- reading ----------------------------------------------------------------
    def _selected_subnets(self) -> list[dict[str, Any]]:
        filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in sorted(self.params["selection_tags"].items())]
        zones = list(self.params.get("availability_zones") or [])
        if zones:
            filters.append({"Name": "availability-zone", "Values": zones})
        if self.params.get("subnet_ids"):
            filters.append({"Name": "subnet-id", "Values": list(self.params["subnet_ids"])})
        return sorted(paged(self.client("ec2"), "describe_subnets", "Subnets", Filters=filters), key=lambda s: s["SubnetId"])

    def _association(self, subnet_id: str) -> tuple[str, str] | None:
        """Return ``(association id, NACL id)`` of ``subnet_id`` now, or None when the subnet is gone."""
        acls = self.client("ec2").describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
        for acl in acls.get("NetworkAcls", []):
            for association in acl.get("Associations", []):
                if association.get("SubnetId") == subnet_id:
                    return association["NetworkAclAssociationId"], acl["NetworkAclId"]
        return None

    def _marked_acls(self) -> dict[str, str]:
        """Return ``{vpc id: NACL id}`` of the NACLs carrying this fault's marker tag, read from AWS."""
        marker = self.undo.get("marker")
        if not marker:
            return {}
        acls = self.client("ec2").describe_network_acls(Filters=[{"Name": f"tag:{MARKER_TAG}", "Values": [marker]}])
        return {acl["VpcId"]: acl["NetworkAclId"] for acl in acls.get("NetworkAcls", [])}

    def _deny_acls(self) -> dict[str, str]:
        """Return ``{vpc id: deny-all NACL id}``: those recorded in undo and those carrying the marker."""
        return {**self.undo.get("deny_acls", {}), **self._marked_acls()}

    # -- contract -----------------------------------------------------------------
    def prepare(self) -> None:
        self.check_account()
        subnets = self._selected_subnets()
        if not subnets:
            raise FaultError(f"no subnet in {self.region} {self.params.get('availability_zones') or ''} carries the "
                             f"selection tags {self.params['selection_tags']}; nothing to blackhole")
        check_no_self_lockout([s["SubnetId"] for s in subnets], self.params.get("runner_subnet_ids", []),
                              bool(self.params.get("allow_runner_blackhole")))
        recorded = []
        for subnet in subnets:
            association = self._association(subnet["SubnetId"])
            if association is None:
                raise FaultError(f"subnet {subnet['SubnetId']} has no network ACL association")
            recorded.append({"subnet_id": subnet["SubnetId"], "vpc_id": subnet["VpcId"],
                             "availability_zone": subnet["AvailabilityZone"], "original_acl_id": association[1]})
        self.undo = {"marker": uuid.uuid4().hex, "subnets": recorded, "deny_acls": {}, "swapped": []}

    def inject(self) -> None:
        ec2 = self.client("ec2")
        deny = self._deny_acls()
        for vpc_id in sorted({s["vpc_id"] for s in self.undo["subnets"]}):
            if vpc_id not in deny:
                created = ec2.create_network_acl(VpcId=vpc_id, TagSpecifications=[{
                    "ResourceType": "network-acl",
                    "Tags": [{"Key": MARKER_TAG, "Value": self.undo["marker"]},
                             {"Key": "Name", "Value": f"zerospof-deny-all-{self.undo['marker'][:8]}"}]}])
                deny[vpc_id] = created["NetworkAcl"]["NetworkAclId"]
                self.undo["deny_acls"] = dict(deny)
                self.checkpoint()
        for subnet in self.undo["subnets"]:
            association = self._association(subnet["subnet_id"])
            if association is None:
                raise FaultError(f"subnet {subnet['subnet_id']} disappeared during injection")
            if association[1] != deny[subnet["vpc_id"]]:
                ec2.create_tags(Resources=[subnet["subnet_id"]], Tags=[
                    {"Key": MARKER_TAG, "Value": self.undo["marker"]},
                    {"Key": ORIGINAL_TAG, "Value": subnet["original_acl_id"]}])
                ec2.replace_network_acl_association(AssociationId=association[0], NetworkAclId=deny[subnet["vpc_id"]])
                self.undo["swapped"].append(subnet["subnet_id"])
                self.checkpoint()

    def verify(self) -> None:
        deny = self._deny_acls()
        not_cut = []
        for subnet in self.undo.get("subnets", []):
            association = self._association(subnet["subnet_id"])
            if association is None or association[1] != deny.get(subnet["vpc_id"]):
                not_cut.append(subnet["subnet_id"])
        if not_cut:
            raise FaultNotInEffect(f"subnets not on the deny-all NACL: {not_cut}")

    def revert(self) -> None:
        if not self.undo.get("marker"):
            return  # prepare never finished: nothing was changed
        ec2 = self.client("ec2")
        ours = set(self._marked_acls().values())  # only NACLs carrying our marker: a record cannot name others
        conflicts = []
        for subnet in self.undo.get("subnets", []):
            association = self._association(subnet["subnet_id"])
            if association is None:
                continue
            if association[1] in ours:
                ec2.replace_network_acl_association(AssociationId=association[0], NetworkAclId=subnet["original_acl_id"])
            if association[1] in ours or association[1] == subnet["original_acl_id"]:
                if subnet["subnet_id"] in self.undo.get("swapped", []):
                    untag_subnet(ec2, subnet["subnet_id"], self.undo["marker"])
            else:
                conflicts.append(f"{subnet['subnet_id']} is on {association[1]}, not ours; left alone")
        for acl_id in sorted(ours):
            self._delete_acl(acl_id, conflicts)
        if conflicts:
            raise FaultError("revert incomplete: " + "; ".join(conflicts))

    def _delete_acl(self, acl_id: str, conflicts: list[str]) -> None:
        ec2 = self.client("ec2")
        if acl_id.startswith("dry-run-"):
            return  # a placeholder from a dry run's recorded CreateNetworkAcl: nothing exists
        try:
            found = ec2.describe_network_acls(NetworkAclIds=[acl_id]).get("NetworkAcls", [])
        except CloudApiError as exc:
            if exc.is_not_found:
                return
            raise
        if not found:
            return
        if found[0].get("Associations"):
            conflicts.append(f"deny-all NACL {acl_id} still has associations; not deleted")
            return
        ec2.delete_network_acl(NetworkAclId=acl_id)


def untag_subnet(ec2: Any, subnet_id: str, marker: str) -> None:
    """Remove the marker and original-NACL tags from a subnet when they are ``marker``'s (idempotent)."""
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [subnet_id]},
                                      {"Name": "key", "Values": [MARKER_TAG]}]).get("Tags", [])
    if any(tag["Value"] == marker for tag in tags):
        ec2.delete_tags(Resources=[subnet_id], Tags=[{"Key": MARKER_TAG}, {"Key": ORIGINAL_TAG}])
