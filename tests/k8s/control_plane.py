"""``KubeControlPlane``: a real Kubernetes control plane on 127.0.0.1 for tests.

Debian's etcd, and the kube-apiserver, kube-controller-manager and kube-scheduler that ``bin/setup``
builds (``zerospof.kube_binaries``), each a child process on random free loopback ports, with a
throw-away PKI (a CA, the API server's serving certificate, an admin client certificate in
``system:masters``, the service-account signing key) and a kubeconfig, all in one temporary
directory. There is no kubelet: see ``tests/k8s/stand_in_kubelet.py``.

The controller-manager runs only the controllers the tests need (workloads, garbage collection,
namespaces, disruption budgets) and, like the scheduler, without leader election, so that the
``kube-system`` Leases belong to the tests. Without the node lifecycle controller, Node objects keep the
status the tests give them (no kubelet renews them); so the API server does not taint new nodes
``not-ready`` either (admission plugin ``TaintNodesByCondition`` off: nothing would lift the taint).
Admission plugin ``ServiceAccount`` is off too: pods need no ``default`` ServiceAccount (no
controller creates one here).

Every child gets SIGKILL when the test process dies (``PR_SET_PDEATHSIG``), so none outlives the run.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from zerospof.kube_binaries import kube_binary
from zerospof.lab.kube import pki

__all__ = ["CONTEXT", "ETCD", "KubeControlPlane", "STARTUP_TIMEOUT_S"]

CONTEXT = "zerospof-test"
ETCD = "/usr/bin/etcd"  # Debian's etcd-server, which bin/setup installs
STARTUP_TIMEOUT_S = 90.0
CONTROLLERS = ("deployment-controller", "replicaset-controller", "statefulset-controller", "garbage-collector-controller",
               "namespace-controller", "disruption-controller")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the parent (the test process) dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_pki(directory: Path) -> dict[str, Path]:
    """Write a CA, the API server's serving pair, an admin client pair (``system:masters``) and the
    service-account key pair into ``directory`` (the lab's certificate code); return their paths by role."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {role: directory / name for role, name in [
        ("ca", "ca.crt"), ("ca_key", "ca.key"), ("serving", "apiserver.crt"), ("serving_key", "apiserver.key"),
        ("sa_key", "sa.key"), ("sa_pub", "sa.pub")]}
    ca_key = pki.new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zerospof-test-ca")])
    paths["ca"].write_bytes(pki.pem(pki.sign(ca_name, ca_key, ca_name, ca_key, ca=True)))
    pki.write_key(paths["ca_key"], ca_key)
    serving_key = pki.new_key()
    paths["serving"].write_bytes(pki.pem(pki.sign(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), serving_key, ca_name, ca_key,
        usage=[ExtendedKeyUsageOID.SERVER_AUTH], addresses=["127.0.0.1"])))
    pki.write_key(paths["serving_key"], serving_key)
    issue_client_certificate(paths, "admin", "zerospof-test-admin", ("system:masters",))
    sa_key = pki.new_key()
    pki.write_key(paths["sa_key"], sa_key)
    paths["sa_pub"].write_bytes(sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    return paths


def issue_client_certificate(paths: dict[str, Path], role: str, user: str, groups: tuple[str, ...] = ()) -> None:
    """Write a client certificate of the CA in ``paths`` for ``user`` in ``groups`` as ``<role>.crt``/``.key``
    beside it; add them to ``paths`` under ``role`` and ``<role>_key``."""
    ca = x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    ca_key = serialization.load_pem_private_key(paths["ca_key"].read_bytes(), password=None)
    key = pki.new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
                        + [x509.NameAttribute(NameOID.COMMON_NAME, user)])
    paths[role], paths[f"{role}_key"] = paths["ca"].with_name(f"{role}.crt"), paths["ca"].with_name(f"{role}.key")
    paths[role].write_bytes(pki.pem(pki.sign(subject, key, ca.subject, ca_key, usage=[ExtendedKeyUsageOID.CLIENT_AUTH])))
    pki.write_key(paths[f"{role}_key"], key)


class KubeControlPlane:
    """A real etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1, under ``directory``.

    ``start`` returns when ``/readyz`` answers ok (at most ``STARTUP_TIMEOUT_S``) and raises, with the
    failing component's log tail, when a component exits or the API does not get ready. ``stop``
    terminates every child (SIGKILL after 10 s). ``kubeconfig`` has the context ``CONTEXT``.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.port = 0
        self.kubeconfig = directory / "kubeconfig"
        self.pki: dict[str, Path] = {}

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def log(self, component: str) -> Path:
        return self.directory / f"{component}.log"

    def _spawn(self, component: str, command: list[str]) -> None:
        with self.log(component).open("wb") as log:
            self.processes[component] = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    def _failure(self, message: str) -> RuntimeError:
        tails = []
        for component in self.processes:
            lines = self.log(component).read_text(errors="replace").splitlines()[-15:]
            tails.append(f"--- {component} ({self.log(component)}):\n" + "\n".join(lines))
        return RuntimeError(message + "\n" + "\n".join(tails))

    def start(self) -> KubeControlPlane:
        binaries = {command: str(kube_binary(command)) for command in
                    ("kube-apiserver", "kube-controller-manager", "kube-scheduler")}  # SetupError naming bin/setup
        self.pki = write_pki(self.directory / "pki")
        etcd_port, peer_port, self.port = free_port(), free_port(), free_port()
        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
        self._spawn("etcd", [ETCD, "--name", "test", "--data-dir", str(self.directory / "etcd"),
                             "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                             "--initial-cluster", f"test={peer_url}", "--log-level", "warn"])
        pki = self.pki
        self._spawn("kube-apiserver", [
            binaries["kube-apiserver"], f"--etcd-servers={etcd_url}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", f"--secure-port={self.port}", f"--cert-dir={self.directory / 'certs'}",
            f"--tls-cert-file={pki['serving']}", f"--tls-private-key-file={pki['serving_key']}",
            f"--client-ca-file={pki['ca']}", "--authorization-mode=Node,RBAC",
            f"--service-account-key-file={pki['sa_pub']}", f"--service-account-signing-key-file={pki['sa_key']}",
            "--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/24",
            "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition", "--profiling=false", "--v=1"])
        self.write_kubeconfig(self.kubeconfig)
        self._wait_ready()
        self._spawn("kube-controller-manager", [
            binaries["kube-controller-manager"], f"--kubeconfig={self.kubeconfig}", "--leader-elect=false",
            f"--controllers={','.join(CONTROLLERS)}", f"--service-account-private-key-file={pki['sa_key']}",
            f"--root-ca-file={pki['ca']}", "--secure-port=0", "--profiling=false", "--v=1",
            "--kube-api-qps=1000", "--kube-api-burst=2000"])  # the garbage collector's many requests: not throttled
        self._spawn("kube-scheduler", [binaries["kube-scheduler"], f"--kubeconfig={self.kubeconfig}",
                                       "--leader-elect=false", "--secure-port=0", "--profiling=false", "--v=1"])
        return self

    def check_running(self) -> None:
        """Raise, with the logs' tails, when a component has exited."""
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise self._failure(f"{component} exited with {process.returncode}")

    def write_kubeconfig(self, path: Path, user: str = "zerospof-test-admin", groups: tuple[str, ...] = ("system:masters",),
                         server: str | None = None) -> Path:
        """Write a kubeconfig (context ``CONTEXT``) reaching ``server`` (default: this API server) as ``user`` in
        ``groups`` (default: the admin), with a client certificate of this control plane's CA; return its path."""
        role = "admin" if user == "zerospof-test-admin" else f"user-{user}"
        if role not in self.pki:
            issue_client_certificate(self.pki, role, user, groups)
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
            "clusters": [{"name": CONTEXT, "cluster": {"server": server or self.url,
                                                       "certificate-authority": str(self.pki["ca"])}}],
            "users": [{"name": CONTEXT, "user": {"client-certificate": str(self.pki[role]),
                                                 "client-key": str(self.pki[f"{role}_key"])}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT}}],
        }))
        return path

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki["ca"]))
        context.load_cert_chain(str(self.pki["admin"]), str(self.pki["admin_key"]))
        return context

    def _wait_ready(self) -> None:
        context = self.ssl_context()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.check_running()
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2, context=context) as answer:
                    if answer.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = f"/readyz answered {exc.code}"
            except OSError as exc:
                last = f"/readyz: {exc}"
            time.sleep(0.2)
        raise self._failure(f"kube-apiserver not ready after {STARTUP_TIMEOUT_S:.0f} s ({last})")

    def stop(self) -> None:
        """Terminate every component (controllers first, etcd last); SIGKILL what is still running after 10 s."""
        for component in reversed(list(self.processes)):
            process = self.processes[component]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.processes.clear()

    def __enter__(self) -> KubeControlPlane:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
