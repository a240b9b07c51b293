"""Control-plane and GitOps pieces that need no root and start nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerospof.errors import FaultError
from zerospof.faults.base import fault_class_path, load_fault
from zerospof.lab import topology as t
from zerospof.lab.controlplane import layout as cp_layout
from zerospof.lab.controlplane.api_lb import api_lb_config
from zerospof.lab.controlplane.etcd_cluster import EtcdMember, cluster_argvs, etcd_argv
from zerospof.lab.controlplane.faults import ApiReplicaKill, ControlPlaneFailure, EtcdLeaderKill
from zerospof.lab.controlplane.processes import processes_from
from zerospof.lab.gitops import layout as gitops_layout
from zerospof.lab.gitops.faults import GitHostUnreachable, GitOpsFailure
from zerospof.lab.gitops.repo import GitError, parse_desired, render_desired

MEMBERS = [EtcdMember(f"m{i}", f"10.0.0.{i}", 2479, 2480, f"/data/m{i}") for i in (1, 2, 3)]


def test_every_etcd_member_gets_the_whole_cluster_and_the_measured_timing() -> None:
    argvs = cluster_argvs(MEMBERS)
    assert sorted(argvs) == ["m1", "m2", "m3"]
    argv = argvs["m2"]
    assert "--name=m2" in argv and "--data-dir=/data/m2" in argv
    assert "--listen-client-urls=http://10.0.0.2:2479" in argv
    assert "--initial-cluster=m1=http://10.0.0.1:2480,m2=http://10.0.0.2:2480,m3=http://10.0.0.3:2480" in argv
    assert "--heartbeat-interval=50" in argv and "--election-timeout=500" in argv


def test_etcd_argv_rejects_an_unknown_member_name() -> None:
    with pytest.raises(KeyError):
        etcd_argv(MEMBERS, "m9")


def test_the_api_lb_snippet_has_the_measured_health_check_settings() -> None:
    text = api_lb_config("10.0.0.1:7443", [("a", "10.0.0.1:6443"), ("b", "10.0.0.2:6443")])
    for setting in ("mode tcp", "inter 500ms fastinter 250ms", "fall 2 rise 2", "timeout connect 150ms", "retries 3",
                    "option redispatch 1", "option httpchk GET /readyz", "bind 10.0.0.1:7443",
                    "server b 10.0.0.2:6443 check check-ssl verify none"):
        assert setting in text


def test_lab_layout_uses_ports_free_of_the_lab_and_one_member_per_region_1_az() -> None:
    spec = {**cp_layout.components(Path("/lab")), **gitops_layout.components(Path("/lab"))}
    assert [spec[f"cp-etcd-r1-{az}"]["namespace"] for az in "abc"] == ["zs-r1-a", "zs-r1-b", "zs-r1-c"]
    assert {cp_layout.CP_ETCD_CLIENT_PORT, cp_layout.CP_ETCD_PEER_PORT, cp_layout.API_PORT,
            cp_layout.API_LB_PORT}.isdisjoint({2379, 2380, 8000, 8080, 5000, 5001, 5432, 8008})
    assert spec["gitops-backup"]["zone"] == "r2-a"
    assert any(arg.startswith("--git-url=git://10.77.6.2") for arg in spec["gitops-backup"]["argv"])
    assert spec["git-primary"]["namespace"] == "zs-git1"
    assert not Path("/lab").exists()  # pure: the PKI and kubeconfigs are written by write_kube_files
    for name in ("cp-sched-r1-a", "cp-cm-r1-b"):
        assert {"--leader-elect=true", "--leader-elect-lease-duration=8s", "--leader-elect-renew-deadline=6s",
                "--leader-elect-retry-period=1s"} <= set(spec[name]["argv"]), name
    assert "--node-monitor-grace-period=10s" in spec["cp-cm-r1-a"]["argv"]
    assert [spec[f"kube-node-{zone.name}"]["namespace"] for zone in t.ZONES] == [zone.namespace for zone in t.ZONES]


def test_desired_state_round_trips_and_malformed_files_are_refused() -> None:
    assert parse_desired(render_desired("v42")) == "v42"
    for text in ("revision: ''\n", "other: 1\n", "[unclosed\n", "- a list\n"):
        with pytest.raises(GitError):
            parse_desired(text)


def test_faults_rebuilt_from_their_record_keep_params_and_undo() -> None:
    params = {"endpoints": ["http://127.0.0.1:1"], "processes": {"factory": "x:Y", "state_dir": "/nowhere"}}
    undo = {"targets": ["cp-etcd-r1-b"], "killed": ["cp-etcd-r1-b"], "baseline": {"raft_term": 3}}
    fault = EtcdLeaderKill(params, undo)
    rebuilt = load_fault(fault_class_path(fault), fault.params, fault.undo)
    assert isinstance(rebuilt, EtcdLeaderKill) and rebuilt.params == fault.params and rebuilt.undo == undo


def test_reverting_a_kill_that_never_happened_touches_nothing() -> None:
    # the process owner cannot even be built: revert must not need it when nothing was killed
    ApiReplicaKill({"processes": {"factory": "no.such.module:Owner", "state_dir": "/nowhere"}}).revert()
    GitHostUnreachable({"links": [{"namespace": "zs-none", "device": "eth0"}]}).revert()


def test_a_composite_gives_each_part_the_shared_params_and_its_own() -> None:
    fault = ControlPlaneFailure({"endpoints": ["http://e:1"], "processes": {"state_dir": "/s"},
                                 "api_replica": {"component": "cp-api-r1-c"}})
    part = fault._part("api_replica")
    assert part.params["component"] == "cp-api-r1-c" and part.params["endpoints"] == ["http://e:1"]
    assert set(GitOpsFailure.parts) == {"reconciler", "git_host"}


def test_an_unknown_process_owner_is_a_fault_error() -> None:
    with pytest.raises(FaultError):
        processes_from({"factory": "no.such.module:Owner", "state_dir": "/nowhere"})
