"""``KmsKeyDisable``: disable one KMS key in one region (one replica of a multi-Region key), enable it again on revert."""

from __future__ import annotations

from typing import Any

from zerospof.aws.fault_base import AwsFault
from zerospof.aws.nacl_blackhole import MARKER_TAG
from zerospof.errors import FaultError, FaultNotInEffect, SafetyRefusal

__all__ = ["KmsKeyDisable", "enable_marked"]


class KmsKeyDisable(AwsFault):
    """Disable ``key_id`` in ``region`` (a multi-Region key's replicas keep their own state: the others stay usable).

    params: ``region``, ``key_id``, ``selection_tags``, ``allowed_account_ids``, optional ``endpoint_url``.
    ``prepare`` refuses (SafetyRefusal) a key that does not carry every selection tag in that region, and a
    key that is not Enabled (nothing of ours to undo), and records that it was; ``inject`` tags the key
    with the ``zerospof:fault`` marker before disabling it, so ``zerospof revert --target`` finds it;
    ``revert`` enables a marked key again and removes the marker. Idempotent; safe before ``inject``.
    """

    kind = "kms-key-disable"

    def describe(self) -> str:
        return f"{self.kind}(region={self.params.get('region')}, key={self.params.get('key_id')})"

    def _state(self) -> str:
        return str(self.client("kms").describe_key(KeyId=self.params["key_id"])["KeyMetadata"].get("KeyState"))

    def prepare(self) -> None:
        self.check_account()
        tags = {t["TagKey"]: t["TagValue"] for t in
                self.client("kms").list_resource_tags(KeyId=self.params["key_id"]).get("Tags", [])}
        wanted = dict(self.params.get("selection_tags") or {})
        if not wanted or any(tags.get(key) != value for key, value in wanted.items()):
            raise SafetyRefusal(f"{self.describe()}: the key does not carry the selection tags {wanted}; refusing "
                                "to disable it")
        state = self._state()
        if state != "Enabled":
            raise FaultError(f"{self.describe()}: the key is {state}, not Enabled; nothing disabled")
        self.undo = {"was_enabled": True}

    def inject(self) -> None:
        kms = self.client("kms")
        kms.tag_resource(KeyId=self.params["key_id"], Tags=[{"TagKey": MARKER_TAG, "TagValue": "disabled"}])
        kms.disable_key(KeyId=self.params["key_id"])

    def verify(self) -> None:
        state = self._state()
        if state != "Disabled":
            raise FaultNotInEffect(f"{self.describe()}: the key is {state}")

    def revert(self) -> None:
        if self.undo.get("was_enabled"):
            enable_marked(self.client("kms"), self.params["key_id"])


def enable_marked(kms: Any, key_id: str) -> bool:
    """Enable ``key_id`` when it carries zerospof's marker (it disabled it) and remove the marker; return whether
    it carried it (idempotent; an unmarked key is left alone)."""
    tags = kms.list_resource_tags(KeyId=key_id).get("Tags", [])
    if not any(t["TagKey"] == MARKER_TAG for t in tags):
        return False
    if kms.describe_key(KeyId=key_id)["KeyMetadata"].get("KeyState") == "Disabled":
        kms.enable_key(KeyId=key_id)
    kms.untag_resource(KeyId=key_id, TagKeys=[MARKER_TAG])
    return True
