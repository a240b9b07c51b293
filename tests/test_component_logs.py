"""Component log lines around t0: each lab log format's timestamp, and the window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from zerospof.component_logs import (
    COLLECTED_FILE, CollectedLogs, LogLine, LogSource, lines_around, parse_log_time, read_collected, write_collected,
)
from zerospof.html_report import _collected_logs

# Lines as the lab's components wrote them (copied from /var/tmp/zerospof-lab/logs).
HAPROXY = ("2026-12-01T12:07:46.533608+00:00 Server app/app-r1-a is DOWN, reason: Layer4 connection problem, "
           'info: "Connection refused", check duration: 0ms.')
HAPROXY_CONSOLE = "[WARNING]  (15132) : Server app/app-r1-b is DOWN, reason: Layer4 connection problem"
HAPROXY_ACCESS = "2026-12-01T12:07:48.160333+00:00 Connect from 10.77.0.1:55888 to 10.77.1.1:7443 (api/HTTP)"
PATRONI = "2026-12-01 12:07:47,172 INFO: Using default value thread_stack_size = 524288"
POSTGRES = "2026-12-01 12:08:45.272 UTC [30419] FATAL:  terminating connection due to unexpected postmaster exit"
ETCD = ('{"level":"info","ts":"2026-12-01T12:07:58.506Z","caller":"raft/raft.go:929",'
        '"msg":"f2a26e95f62c8b9b is starting a new election at term 2"}')
PDNS = "Dec 01 12:07:46 Loading '/usr/lib/x86_64-linux-gnu/pdns/libbindbackend.so'"
KLOG = ('I1201 15:11:50.031643    9323 leaderelection.go:272] "Successfully acquired lease" '
        'lock="kube-system/kube-controller-manager"')
SUPERVISOR = "--- supervisor: started pid 15132 at 2026-12-01T12:07:46"


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize(("line", "expected"), [
    (HAPROXY, "2026-12-01T12:07:46.533608"),
    (PATRONI, "2026-12-01T12:07:47.172"),
    (POSTGRES, "2026-12-01T12:08:45.272"),
    (ETCD, "2026-12-01T12:07:58.506"),
    (PDNS, "2026-12-01T12:07:46"),
    (KLOG, "2026-12-01T15:11:50.031643"),
])
def test_each_lab_log_format_gives_its_utc_time(line: str, expected: str) -> None:
    assert parse_log_time(line, 2026) == pytest.approx(utc(expected), abs=1e-6)


def test_an_offset_is_applied() -> None:
    assert parse_log_time("2026-12-01T13:07:46.5+01:00 x", 2026) == pytest.approx(utc("2026-12-01T12:07:46.5"))


@pytest.mark.parametrize("line", [HAPROXY_CONSOLE, SUPERVISOR, "", "{not json", '{"ts": 5}'])
def test_a_line_without_a_time_has_none(line: str) -> None:
    assert parse_log_time(line, 2026) is None


def test_only_timestamped_lines_within_the_window_are_kept_per_component(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "lb-r1-a.log").write_text("\n".join([SUPERVISOR, HAPROXY_CONSOLE, HAPROXY, HAPROXY_ACCESS, POSTGRES]) + "\n")
    (logs / "cp-etcd-r1-c.log").write_text(ETCD + "\n")
    (logs / "app-r1-a.log").write_text(HAPROXY + "\n")  # not a component whose log tells the failover
    found = lines_around([logs, tmp_path / "missing"], utc("2026-12-01T12:07:50"), before_s=5, after_s=10)
    assert set(found) == {"lb-r1-a", "cp-etcd-r1-c"}
    assert [line.text for line in found["lb-r1-a"]] == [HAPROXY]  # access log dropped, 12:08:45 out of the window
    assert found["cp-etcd-r1-c"][0].t_wall == pytest.approx(utc("2026-12-01T12:07:58.506"))


def test_over_the_cap_start_up_chatter_gives_way_to_what_was_logged_at_the_fault(tmp_path: Path) -> None:
    chatter = [f"2026-12-01 12:07:{second:02d},000 INFO: starting" for second in range(40, 50)]
    fault = [f"2026-12-01 12:07:{second:02d},000 INFO: lost the leader lock" for second in range(50, 60)]
    (tmp_path / "pg-r1-a.log").write_text("\n".join(chatter + fault) + "\n")
    found = lines_around([tmp_path], utc("2026-12-01T12:07:50"), max_lines=8)
    assert [line.text for line in found["pg-r1-a"]] == chatter[-2:] + fault[:6]


def test_collected_logs_show_each_sources_lines_in_utc_or_why_it_was_not_read(tmp_path: Path) -> None:
    t0 = utc("2026-12-01T12:07:50")
    collected = CollectedLogs(t0 - 60, t0 + 120, (
        LogSource("cloudwatch-alarm us-west-2/app-5xx",
                  (LogLine("cloudwatch-alarm us-west-2/app-5xx", t0 + 65.25, "StateUpdate: Alarm updated from OK to ALARM"),)),
        LogSource("kubernetes-events primary/default"),
        LogSource("kubernetes-events primary/argocd", error="kubernetes/ctx list_namespaced_event failed: 403: Forbidden")))
    write_collected(tmp_path / COLLECTED_FILE, t0, collected)
    assert read_collected(tmp_path / COLLECTED_FILE) == collected
    page = _collected_logs(t0, tmp_path / COLLECTED_FILE)
    assert "12:08:55.250" in page and "+65.25s" in page and "Alarm updated from OK to ALARM" in page
    assert "<b>kubernetes-events primary/default</b>: read; nothing recorded in the window" in page
    assert "<b>kubernetes-events primary/argocd</b>: not read: kubernetes/ctx list_namespaced_event failed: 403" in page
    assert "2026-12-01 12:06:50.000 UTC" in page  # the window, with its date


def test_a_collected_log_file_that_is_not_one_is_shown_as_not_read(tmp_path: Path) -> None:
    (tmp_path / COLLECTED_FILE).write_text("{truncated")
    assert "not read: " in _collected_logs(0.0, tmp_path / COLLECTED_FILE)
