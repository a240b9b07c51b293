"""The target file's endpoints configure the users' probe: method, headers (secrets from the environment),
timeouts, redirect rule; a secret's value never reaches a report or an error."""

from __future__ import annotations

import pytest

from tests.aws.moto_world import target_document, write_target
from tests.test_http_probe import server  # noqa: F401 - fixture
from zerospof.aws.driver import AwsDriver
from zerospof.aws.target import load_aws_target
from zerospof.errors import ConfigError, TargetError

SECRET = "Bearer do-not-print-me"


def endpoint_target(tmp_path, url: str, **options):
    document = target_document(endpoints=[{"name": "app", "url": url, **options}])
    document.pop("kubernetes")
    return load_aws_target(write_target(tmp_path, document))


def test_headers_from_the_environment_are_sent_and_never_shown(staging, server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ZEROSPOF_APP_TOKEN", SECRET)
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    target = endpoint_target(tmp_path, url, headers={"X-Probe": "zerospof"},
                             headers_from_env={"Authorization": "ZEROSPOF_APP_TOKEN"}, timeout="3s",
                             connect_timeout="500ms", redirects="follow")
    driver = AwsDriver(target)

    assert driver.serving()

    assert {r["headers"]["Authorization"] for r in server.seen} == {SECRET}
    assert {r["headers"]["X-Probe"] for r in server.seen} == {"zerospof"}
    probe = driver._endpoints["app"]
    assert (probe.timeout_s, probe.connect_timeout_s, probe.redirects) == (3.0, 0.5, "follow")
    assert SECRET not in repr(probe) and SECRET not in repr(target)


def test_an_unset_secret_variable_makes_the_target_not_ready_naming_the_variable(staging, server, tmp_path,  # noqa: F811
                                                                                monkeypatch):
    monkeypatch.delenv("ZEROSPOF_APP_TOKEN", raising=False)
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    driver = AwsDriver(endpoint_target(tmp_path, url, headers_from_env={"Authorization": "ZEROSPOF_APP_TOKEN"}))
    with pytest.raises(TargetError, match=r"header Authorization: \$ZEROSPOF_APP_TOKEN is not set"):
        driver.check_ready()


@pytest.mark.parametrize(("options", "key"), [({"redirects": "sometimes"}, "endpoints[0].redirects"),
                                              ({"method": "DELETE"}, "endpoints[0].method"),
                                              ({"headers_from_env": {"Authorization": "lower-case"}},
                                               "endpoints[0].headers_from_env.Authorization"),
                                              ({"timeout": "soon"}, "endpoints[0].timeout")])
def test_a_bad_endpoint_option_names_its_key(tmp_path, options, key):
    with pytest.raises(ConfigError) as error:
        endpoint_target(tmp_path, "https://app.example/healthz", **options)
    assert error.value.key == key
