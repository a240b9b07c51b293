"""Render the HAProxy sections of the API load balancer in front of the kube-apiservers.

TLS passthrough (``mode tcp``): clients verify the API servers' own certificate and authenticate to them with
their client certificates, as through an NLB. Each API server is checked with ``GET /readyz`` over TLS
(anonymous; 200 only while it is ready, e.g. reaches etcd). The check settings are the lab's measured ones
(``inter 500ms fastinter 250ms fall 2 rise 2``, ``timeout connect 150ms``), repeated in the backend so the
snippet does not depend on the ``defaults`` section it is appended after; ``retries 3`` and ``option redispatch``
move a connection whose server does not accept it to another one.
"""

from __future__ import annotations

__all__ = ["api_lb_config"]


def api_lb_config(bind: str, replicas: list[tuple[str, str]], *, name: str = "api") -> str:
    """Return ``frontend``/``backend`` sections named ``name`` binding ``bind`` (``ADDR:PORT``).

    ``replicas`` is ``[(server name, "ADDR:PORT"), ...]``, each a kube-apiserver's secure port.
    """
    if not replicas:
        raise ValueError("the API load balancer needs at least one replica")
    servers = "".join(f"    server {server} {address} check check-ssl verify none\n" for server, address in replicas)
    return f"""\
frontend {name}
    mode tcp
    timeout client 5m
    bind {bind}
    default_backend {name}

backend {name}
    mode tcp
    timeout connect 150ms
    timeout server 5m
    timeout check 1s
    retries 3
    option redispatch 1
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}"""
