"""The documented DR action of a region failure when recovery is manual: an Aurora/RDS cluster failover."""

from __future__ import annotations

from typing import Any

from zerospof.aws.clients import AwsClients
from zerospof.aws.target import AwsTarget

__all__ = ["aurora_writer", "documented_dr_action", "failover_aurora"]


def aurora_writer(clients: AwsClients, region: str, cluster_id: str) -> str | None:
    """Return the instance id of the cluster's current writer, or None."""
    cluster = clients.client("rds", region).describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    return next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")), None)


def failover_aurora(clients: AwsClients, region: str, cluster_id: str, target_instance_id: str | None = None) -> dict[str, Any]:
    """Fail the Aurora cluster over (``rds failover-db-cluster``); return the writer before and after.

    This is a recovery action, not a fault: it is not reverted.
    """
    before = aurora_writer(clients, region, cluster_id)
    arguments: dict[str, Any] = {"DBClusterIdentifier": cluster_id}
    if target_instance_id:
        arguments["TargetDBInstanceIdentifier"] = target_instance_id
    clients.client("rds", region).failover_db_cluster(**arguments)
    after = None if clients.dry_run else aurora_writer(clients, region, cluster_id)
    return {"cluster_id": cluster_id, "writer_before": before, "writer_after": after}


def documented_dr_action(target: AwsTarget, clients: AwsClients) -> dict[str, Any] | None:
    """Run the target file's DR action of a region failure (``recovery: manual``); None when there is none."""
    plan = target.region_failure
    if plan is None or plan.recovery != "manual" or plan.aurora_cluster_id is None or target.dr_region is None:
        return None
    return failover_aurora(clients, target.dr_region, plan.aurora_cluster_id, plan.aurora_target_instance_id)
