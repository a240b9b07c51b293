"""``FakeKubeApiServer``: a FAKE Kubernetes API server for tests — not Kubernetes.

It speaks enough of the real REST API over real HTTP on 127.0.0.1 for the real ``kubernetes``
Python client (and chaostoolkit-kubernetes, which uses it) to work against it: get / list
(label and field selectors) / create / replace / patch (JSON merge, strategic-merge treated as
merge, JSON patch) / delete of pods, nodes, deployments, statefulsets, leases, PodDisruptionBudgets
(stored, never enforced) and Argo CD
Applications; the ``scale`` subresource of deployments and statefulsets; and pod eviction. With
``simulate_controllers`` (the default) it plays the workload controllers crudely: a scaled
workload gets exactly ``replicas`` pods, and a deleted or evicted pod of a workload is replaced
by a new one. Every HTTP request but ``/version`` must carry the bearer ``token`` of the
kubeconfig it writes (else 401), so a client using other credentials fails as on a real
cluster. Nothing else of Kubernetes (scheduling, admission, watches, RBAC, eviction limits) exists here.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

__all__ = ["FakeKubeApiServer", "matches_label_selector"]


@dataclass(frozen=True)
class _Kind:
    group_version: str  # "v1" for core, else "group/version"
    resource: str
    kind: str
    namespaced: bool


_KINDS = [
    _Kind("v1", "pods", "Pod", True),
    _Kind("v1", "nodes", "Node", False),
    _Kind("v1", "namespaces", "Namespace", False),
    _Kind("apps/v1", "deployments", "Deployment", True),
    _Kind("apps/v1", "statefulsets", "StatefulSet", True),
    _Kind("coordination.k8s.io/v1", "leases", "Lease", True),
    _Kind("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True),  # stored and listed, never enforced
    _Kind("argoproj.io/v1alpha1", "applications", "Application", True),
    _Kind("kustomize.toolkit.fluxcd.io/v1", "kustomizations", "Kustomization", True),
]
_BY_PATH = {(k.group_version, k.resource): k for k in _KINDS}
_BY_KIND = {k.kind: k for k in _KINDS}
_WORKLOADS = ("deployments", "statefulsets")


class _ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def matches_label_selector(labels: dict[str, str], selector: str) -> bool:
    """Return whether ``labels`` match a Kubernetes label selector string (=, ==, !=, in, notin, exists, !)."""
    for term in _split_selector(selector):
        term = term.strip()
        if not term:
            continue
        if match := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", term):
            key, operator, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            present = key in labels and labels[key] in values
            if present != (operator == "in"):
                return False
            continue
        if match := re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)", term):
            key, operator, value = match.groups()
            if operator == "!=":
                if labels.get(key) == value:
                    return False
            elif labels.get(key) != value:
                return False
            continue
        if term.startswith("!"):
            if term[1:].strip() in labels:
                return False
            continue
        if term not in labels:
            return False
    return True


def _split_selector(selector: str) -> Iterator[str]:
    depth, current = 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            yield current
            current = ""
        else:
            current += char
    yield current


def _field(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches_field_selector(obj: dict[str, Any], selector: str) -> bool:
    for term in selector.split(","):
        if not term.strip():
            continue
        negate = "!=" in term
        key, value = re.split(r"!=|==|=", term, maxsplit=1)
        actual = _field(obj, key.strip())
        actual = "" if actual is None else str(actual)
        if (actual == value.strip()) == negate:
            return False
    return True


def _merge(target: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _json_patch(document: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply the add / replace / remove / test operations of a JSON patch (RFC 6902)."""
    document = copy.deepcopy(document)
    for operation in operations:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].lstrip("/").split("/")]
        parent: Any = document
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        op = operation["op"]
        if op == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != operation.get("value"):
                raise _ApiError(422, "Invalid", f"test failed at {operation['path']}")
        elif op in ("add", "replace"):
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), operation["value"]) if op == "add" \
                    else parent.__setitem__(int(last), operation["value"])
            else:
                parent[last] = operation["value"]
        elif op == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            else:
                parent.pop(last, None)
        else:
            raise _ApiError(422, "Invalid", f"unsupported JSON patch op {op!r}")
    return document


class FakeKubeApiServer:
    """A FAKE in-memory Kubernetes API server on 127.0.0.1 for tests (see the module docstring)."""

    def __init__(self, simulate_controllers: bool = True, token: str = "fake-token") -> None:
        self.simulate_controllers = simulate_controllers
        self.token = token
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (resource, namespace, name)
        self._versions = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> FakeKubeApiServer:
        """Serve on a free port of 127.0.0.1 in a background thread."""
        server = self
        class Handler(_Handler):
            fake = server
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeKubeApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def write_kubeconfig(self, path: str | Path, context: str = "fake") -> Path:
        """Write a kubeconfig whose ``context`` points at this server; return its path."""
        path = Path(path)
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        }))
        return path

    # -- state for tests ---------------------------------------------------------------
    def reset(self) -> None:
        """Forget every object."""
        with self._lock:
            self._objects.clear()

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (its ``kind`` picks the resource); return the stored copy."""
        kind = _BY_KIND[obj["kind"]]
        with self._lock:
            stored = self._create(kind, obj["metadata"].get("namespace", "") if kind.namespaced else "", obj)
            if self.simulate_controllers and kind.resource in _WORKLOADS:
                self._reconcile(kind.resource, stored)
            return copy.deepcopy(stored)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Return a copy of one stored object, or None."""
        with self._lock:
            found = self._objects.get((resource, namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Return copies of every stored object of ``resource`` (in ``namespace`` when given)."""
        with self._lock:
            return [copy.deepcopy(o) for (r, ns, _), o in sorted(self._objects.items())
                    if r == resource and (namespace is None or ns == namespace)]

    # -- object store ------------------------------------------------------------------
    def _create(self, kind: _Kind, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        if not name:
            raise _ApiError(422, "Invalid", "metadata.name is required")
        key = (kind.resource, namespace, name)
        if key in self._objects:
            raise _ApiError(409, "AlreadyExists", f'{kind.resource} "{name}" already exists')
        obj["apiVersion"], obj["kind"] = kind.group_version, kind.kind
        if kind.namespaced:
            meta["namespace"] = namespace
        meta.setdefault("labels", {})
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = str(next(self._versions))
        meta["creationTimestamp"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._objects[key] = obj
        return obj

    def _store(self, kind: _Kind, namespace: str, name: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["apiVersion"], obj["kind"] = kind.group_version, kind.kind
        obj.setdefault("metadata", {})["name"] = name
        if kind.namespaced:
            obj["metadata"]["namespace"] = namespace
        obj["metadata"]["resourceVersion"] = str(next(self._versions))
        self._objects[(kind.resource, namespace, name)] = obj
        return obj

    def _existing(self, kind: _Kind, namespace: str, name: str) -> dict[str, Any]:
        found = self._objects.get((kind.resource, namespace, name))
        if found is None:
            raise _ApiError(404, "NotFound", f'{kind.resource} "{name}" not found')
        return found

    def _delete(self, kind: _Kind, namespace: str, name: str) -> dict[str, Any]:
        obj = self._existing(kind, namespace, name)
        del self._objects[(kind.resource, namespace, name)]
        if self.simulate_controllers and kind.resource == "pods":
            self._replace_owned_pod(obj)
        return obj

    # -- crude controllers ---------------------------------------------------------------
    def _owner(self, pod: dict[str, Any]) -> dict[str, Any] | None:
        labels = pod["metadata"].get("labels", {})
        for resource in _WORKLOADS:
            for (r, ns, _), workload in self._objects.items():
                if r == resource and ns == pod["metadata"].get("namespace"):
                    match = _field(workload, "spec.selector.matchLabels") or {}
                    if match and all(labels.get(k) == v for k, v in match.items()):
                        return workload
        return None

    def _pods_of(self, workload: dict[str, Any]) -> list[dict[str, Any]]:
        match = _field(workload, "spec.selector.matchLabels") or {}
        namespace = workload["metadata"]["namespace"]
        return [o for (r, ns, _), o in sorted(self._objects.items()) if r == "pods" and ns == namespace and match
                and all(o["metadata"].get("labels", {}).get(k) == v for k, v in match.items())]

    def _new_pod(self, workload: dict[str, Any], ordinal: int) -> None:
        template = copy.deepcopy(_field(workload, "spec.template") or {})
        meta = template.setdefault("metadata", {})
        base = workload["metadata"]["name"]
        meta["name"] = f"{base}-{ordinal}" if workload["kind"] == "StatefulSet" else f"{base}-{uuid.uuid4().hex[:5]}"
        template.setdefault("spec", {}).setdefault("containers", [{"name": "main", "image": "fake"}])
        template["status"] = {"phase": "Running"}
        self._create(_BY_KIND["Pod"], workload["metadata"]["namespace"], {"kind": "Pod", **template})

    def _reconcile(self, resource: str, workload: dict[str, Any]) -> None:
        wanted = int(_field(workload, "spec.replicas") or 0)
        pods = self._pods_of(workload)
        for pod in pods[wanted:]:
            del self._objects[("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])]
        taken = {p["metadata"]["name"] for p in pods[:wanted]}
        ordinal = 0
        while len(self._pods_of(workload)) < wanted:
            if f"{workload['metadata']['name']}-{ordinal}" not in taken:
                self._new_pod(workload, ordinal)
            ordinal += 1
        workload["status"] = {**workload.get("status", {}), "replicas": wanted, "readyReplicas": wanted,
                              "availableReplicas": wanted}

    def _replace_owned_pod(self, pod: dict[str, Any]) -> None:
        owner = self._owner(pod)
        if owner is not None:
            self._reconcile(owner["kind"].lower() + "s", owner)

    # -- request dispatch --------------------------------------------------------------
    def handle(self, method: str, raw_path: str, query: dict[str, list[str]], body: Any,
               content_type: str) -> tuple[int, dict[str, Any]]:
        """Serve one request; return ``(status, JSON body)``."""
        if raw_path in ("/version", "/version/"):
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake"}
        match = re.fullmatch(r"/(?:api/(?P<core>v1)|apis/(?P<gv>[^/]+/[^/]+))"
                             r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<res>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?/?",
                             raw_path)
        if match is None:
            raise _ApiError(404, "NotFound", f"no route for {raw_path}")
        kind = _BY_PATH.get((match["core"] or match["gv"], match["res"]))
        if kind is None:
            raise _ApiError(404, "NotFound", f"the server could not find the requested resource {raw_path}")
        namespace, name, sub = match["ns"] or "", match["name"], match["sub"]
        with self._lock:
            if name is None:
                return self._collection(method, kind, namespace, query, body)
            if sub == "scale" and kind.resource in _WORKLOADS:
                return self._scale(method, kind, namespace, name, body, content_type)
            if sub == "eviction" and kind.resource == "pods" and method == "POST":
                return 201, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                             "metadata": {}, "details": {"name": self._delete(kind, namespace, name)["metadata"]["name"]}}
            if sub in (None, "status"):
                return self._item(method, kind, namespace, name, body, content_type)
            raise _ApiError(404, "NotFound", f"subresource {sub} not supported by the fake")

    def _collection(self, method: str, kind: _Kind, namespace: str, query: dict[str, list[str]],
                    body: Any) -> tuple[int, dict[str, Any]]:
        if method == "POST":
            obj = self._create(kind, namespace, body)
            if self.simulate_controllers and kind.resource in _WORKLOADS:
                self._reconcile(kind.resource, obj)
            return 201, obj
        if method != "GET":
            raise _ApiError(405, "MethodNotAllowed", f"{method} on a collection")
        labels = query.get("labelSelector", [""])[0]
        fields = query.get("fieldSelector", [""])[0]
        items = [copy.deepcopy(o) for (r, ns, _), o in sorted(self._objects.items())
                 if r == kind.resource and (not namespace or ns == namespace)
                 and matches_label_selector(o["metadata"].get("labels", {}), labels)
                 and _matches_field_selector(o, fields)]
        return 200, {"apiVersion": kind.group_version, "kind": f"{kind.kind}List",
                     "metadata": {"resourceVersion": str(next(self._versions))}, "items": items}

    def _item(self, method: str, kind: _Kind, namespace: str, name: str, body: Any,
              content_type: str) -> tuple[int, dict[str, Any]]:
        if method == "GET":
            return 200, copy.deepcopy(self._existing(kind, namespace, name))
        if method == "DELETE":
            return 200, copy.deepcopy(self._delete(kind, namespace, name))
        current = self._existing(kind, namespace, name)
        if method == "PUT":
            updated = copy.deepcopy(body)
            updated.setdefault("metadata", {})["uid"] = current["metadata"]["uid"]
        elif method == "PATCH":
            updated = _json_patch(current, body) if "json-patch" in content_type else _merge(current, body)
        else:
            raise _ApiError(405, "MethodNotAllowed", method)
        stored = self._store(kind, namespace, name, updated)
        if self.simulate_controllers and kind.resource in _WORKLOADS:
            self._reconcile(kind.resource, stored)
        return 200, copy.deepcopy(stored)

    def _scale(self, method: str, kind: _Kind, namespace: str, name: str, body: Any,
               content_type: str) -> tuple[int, dict[str, Any]]:
        workload = self._existing(kind, namespace, name)
        if method in ("PATCH", "PUT"):
            scale = self._scale_view(workload)
            if method == "PUT":
                scale = body
            else:
                scale = _json_patch(scale, body) if "json-patch" in content_type else _merge(scale, body)
            workload["spec"]["replicas"] = int(_field(scale, "spec.replicas") or 0)
            workload = self._store(kind, namespace, name, workload)
            if self.simulate_controllers:
                self._reconcile(kind.resource, workload)
        elif method != "GET":
            raise _ApiError(405, "MethodNotAllowed", method)
        return 200, self._scale_view(workload)

    @staticmethod
    def _scale_view(workload: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": workload["metadata"]["name"], "namespace": workload["metadata"]["namespace"],
                             "resourceVersion": workload["metadata"]["resourceVersion"]},
                "spec": {"replicas": int(_field(workload, "spec.replicas") or 0)},
                "status": {"replicas": int(_field(workload, "status.replicas") or 0)}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKubeApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        """Stay quiet."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            if parts.path.rstrip("/") != "/version" and self.headers.get("Authorization") != f"Bearer {self.fake.token}":
                raise _ApiError(401, "Unauthorized", "Unauthorized")
            body = json.loads(raw) if raw else None
            status, payload = self.fake.handle(self.command, parts.path, parse_qs(parts.query), body,
                                               self.headers.get("Content-Type", ""))
        except _ApiError as exc:
            status, payload = exc.code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                         "message": exc.message, "reason": exc.reason, "code": exc.code}
        except (ValueError, KeyError, TypeError) as exc:
            status, payload = 400, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": f"bad request: {exc}", "reason": "BadRequest", "code": 400}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
