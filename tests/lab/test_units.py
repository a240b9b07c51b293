"""Lab pieces that need no root: layout, rendered configs, fault parameters."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zerospof.errors import FaultError
from zerospof.lab import configs
from zerospof.lab import topology as t
from zerospof.lab.faults import AzLoss, RegionLoss


def test_every_namespace_name_is_prefixed_and_every_address_in_the_lab_subnet() -> None:
    import ipaddress

    subnet = ipaddress.ip_network(t.SUBNET)
    for place in t.all_places():
        assert place.namespace.startswith("zs-")
        assert len(place.host_device) <= 15
        assert ipaddress.ip_address(place.address) in subnet
    assert len({p.address for p in t.all_places()}) == len(t.all_places())


def test_etcd_members_span_both_regions_and_the_witness() -> None:
    regions = {t.place(p).region for p in t.ETCD_PLACES}
    assert regions == {"r1", "r2", None}


def test_haproxy_config_has_the_measured_health_check_settings(tmp_path: Path) -> None:
    text = configs._haproxy(tmp_path, "r1-a")
    for setting in ("inter 500ms fastinter 250ms", "fall 2 rise 2", "timeout connect 150ms", "retries 3",
                    "option redispatch 1", "retry-on conn-failure empty-response response-timeout 503",
                    "GET /primary", f"set-timeout server {configs.LB_READ_TRY_MS}ms if METH_GET"):
        assert setting in text


def test_the_lb_retries_a_hung_read_well_before_the_users_give_up_on_that_lb_node() -> None:
    from zerospof.lab.client import READ_RETRY_AFTER_S

    # a read in flight to a lost app: the LB's try and another app's answer (~50 ms; p95 ~300 ms during the
    # scenarios) must fit in the user's per-try timeout, or the user abandons an LB node that was about to
    # answer (it did at 700 ms)
    loaded_answer_s = 0.3
    assert configs.LB_READ_TRY_MS / 1000 + loaded_answer_s < READ_RETRY_AFTER_S


def test_dns_answers_are_health_checked_and_the_pinned_flaw_names_one_lb_node_without_a_check() -> None:
    lbs = [t.place(z).address for z in t.LB_ZONES[t.REGIONS[0]]]
    checked, pinned = configs.dns_zone("health-checked"), configs.dns_zone("pinned")
    assert "ifurlup(" in checked and all(address in checked for address in lbs)
    assert "LUA" not in pinned and f"app 1 IN A {lbs[0]}" in pinned and lbs[1] not in pinned
    assert configs.dns_expected_addresses("pinned") == [lbs[0]]
    assert configs.dns_expected_addresses("health-checked") == sorted(lbs)
    with pytest.raises(ValueError, match="health-checked, pinned"):
        configs.dns_zone("static")


def test_az_loss_names_its_zone_and_rejects_unknown_ones() -> None:
    assert AzLoss({"region": "r1", "az": "b"}).params["zones"] == ["r1-b"]
    with pytest.raises(FaultError):
        AzLoss({"region": "r9", "az": "b"})
    with pytest.raises(FaultError):
        AzLoss({"region": "r1", "az": "b", "mode": "flood"})


def test_region_loss_covers_every_az_of_the_region() -> None:
    assert RegionLoss({"region": "r2"}).params["zones"] == ["r2-a", "r2-b", "r2-c"]


def test_git_hosts_are_places_of_their_own_outside_every_zone() -> None:
    primary, mirror = t.GIT_HOSTS
    assert (primary.name, primary.address, mirror.name, mirror.address) == ("git1", "10.77.6.1", "git2", "10.77.6.2")
    assert primary in t.all_places() and mirror in t.all_places()
    assert primary.region is None and mirror.region is None  # an AZ or region loss does not cut them


@pytest.mark.skipif(os.geteuid() != 0, reason="write_all hands PostgreSQL's directories to the postgres user")
def test_the_spec_names_every_component_and_region_1_lbs_carry_the_api_lb(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    spec = configs.write_all(tmp_path)
    assert sorted(spec) == sorted(configs.component_names())
    for kind, count in (("cp-etcd", 3), ("cp-api", 3), ("cp-scheduler", 2), ("cp-cm", 2), ("kube-node", 6), ("git", 3),
                        ("gitops", 3), ("security", 2)):
        assert len(configs.component_names(kind)) == count, kind
    assert "server: https://10.77.1.1:7443" in (tmp_path / "kubeconfig").read_text()  # the API through the API LB
    assert spec["cp-sched-r1-b"]["argv"][:6] == ["unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"']
    assert spec["git-primary"]["namespace"] == "zs-git1" and spec["git-mirror"]["namespace"] == "zs-git2"
    assert "--enable=receive-pack" in spec["git-mirror"]["argv"]  # the backup provider takes pushes too
    assert (tmp_path / "data" / "git-primary" / "platform.git" / "HEAD").exists()
    assert (tmp_path / "data" / "git-mirror").is_dir()
    for zone in t.LB_ZONES["r1"]:
        assert "bind " + t.place(zone).address + ":7443" in (tmp_path / f"lb-{zone}.cfg").read_text()
    for zone in t.LB_ZONES["r2"]:
        assert ":7443" not in (tmp_path / f"lb-{zone}.cfg").read_text()


def test_the_driver_watches_the_control_planes_own_signals_and_writes_through_the_api_lb() -> None:
    from zerospof.lab.driver import LabDriver
    from zerospof.objectives import load_objectives
    from zerospof.timeline import Timeline

    objectives = load_objectives(configs.PROJECT_ROOT / "objectives.yaml")
    monitoring = LabDriver().monitoring("control-plane", Timeline(), objectives, "unit")
    assert monitoring.signal_probes == ["signal:etcd-leader", "signal:scheduler-lease", "signal:controller-manager-lease",
                                        "signal:api-lb-health-check"]
    assert [s.name for s in monitoring.samplers if not s.name.startswith("signal:")] == [
        "availability", "writes", "control-plane-api", "observer-heartbeat"]


def test_the_gitops_run_measures_deployment_and_rpo_with_git_pushes_while_users_read_and_write() -> None:
    from zerospof.lab.driver import LabDriver
    from zerospof.lab.gitops.probes import PushCanary
    from zerospof.objectives import load_objectives
    from zerospof.timeline import Timeline

    objectives = load_objectives(configs.PROJECT_ROOT / "objectives.yaml")
    monitoring = LabDriver().monitoring("gitops", Timeline(), objectives, "unit")
    try:
        assert monitoring.signal_probes == ["signal:reconciler-lease"]
        by_name = {s.name: s for s in monitoring.samplers}
        assert set(by_name) == {"availability", "writes", "signal:reconciler-lease", "served-revision", "write-canary",
                                "observer-heartbeat"}
        assert isinstance(by_name["write-canary"].probe, PushCanary)
        assert monitoring.rpo_probe == "write-canary"  # the GitOps RPO is the git canary's, not the users' writes
    finally:
        for hook in monitoring.stop_hooks:
            hook()


def test_the_driver_builds_each_scenarios_fault_against_the_labs_supervisor(tmp_path: Path) -> None:
    from zerospof.lab import Lab
    from zerospof.lab.controlplane.faults import ControlPlaneFailure
    from zerospof.lab.driver import LabDriver
    from zerospof.lab.gitops.faults import GitOpsFailure

    driver = LabDriver(Lab(tmp_path))
    cp = driver.fault("control-plane", {"api_replica": {"component": "cp-api-r1-b"}})
    assert isinstance(cp, ControlPlaneFailure)
    assert cp._part("api_replica").params["component"] == "cp-api-r1-b"
    assert cp.params["processes"]["state_dir"] == str(tmp_path)
    assert cp._part("scheduler").params["kubeconfig"] == str(tmp_path / "kubeconfig")
    assert cp._part("controller_manager").params["lease"] == "kube-controller-manager"
    gitops = driver.fault("gitops", {})
    assert isinstance(gitops, GitOpsFailure)
    assert gitops._part("git_host").params["links"] == [{"namespace": "zs-git1", "device": "eth0"}]
    with pytest.raises(Exception, match="no 'flood' scenario"):
        driver.fault("flood", {})
