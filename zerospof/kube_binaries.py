"""Where ``bin/setup`` (``bin/build-kube``) put the Kubernetes binaries of the release ``kube/go.mod`` pins.

They live outside the checkout, one directory per release:
``$ZEROSPOF_KUBE_CACHE/<version>/bin/<command>`` (default cache ``/var/cache/zerospof/kube``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from zerospof.errors import SetupError

__all__ = ["KUBE_COMMANDS", "kube_binary", "kube_bin_dir", "kube_version"]

KUBE_COMMANDS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubectl")
GO_MOD = Path(__file__).resolve().parents[1] / "kube" / "go.mod"
DEFAULT_CACHE = "/var/cache/zerospof/kube"
_PIN = re.compile(r"^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v1\.\d+\.\d+)\b", re.MULTILINE)


def kube_version(go_mod: Path = GO_MOD) -> str:
    """Return the pinned Kubernetes release (``v1.X.Y``) from ``kube/go.mod``."""
    try:
        text = go_mod.read_text()
    except OSError as exc:
        raise SetupError(f"{go_mod}: cannot read the Kubernetes pin ({exc.strerror}); "
                         "zerospof must run from its checkout") from exc
    found = _PIN.search(text)
    if found is None:
        raise SetupError(f"{go_mod}: no 'k8s.io/kubernetes v1.X.Y' requirement")
    return found.group(1)


def kube_bin_dir() -> Path:
    """Return the directory ``bin/build-kube`` builds the pinned release into (it may not exist yet)."""
    return Path(os.environ.get("ZEROSPOF_KUBE_CACHE") or DEFAULT_CACHE) / kube_version() / "bin"


def kube_binary(command: str) -> Path:
    """Return the path of ``command`` (one of ``KUBE_COMMANDS``); SetupError naming ``bin/setup`` when it is missing."""
    if command not in KUBE_COMMANDS:
        raise ValueError(f"unknown Kubernetes command {command!r}; one of {KUBE_COMMANDS}")
    directory = kube_bin_dir()
    path = directory / command
    if not (directory.parent / ".complete").is_file() or not os.access(path, os.X_OK):
        raise SetupError(f"{command} of Kubernetes {kube_version()} is not built: run bin/setup "
                         f"(it builds {', '.join(KUBE_COMMANDS)} into {directory}; "
                         "$ZEROSPOF_KUBE_CACHE moves the cache)")
    return path
