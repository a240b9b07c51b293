"""The embedded lab: a miniature of the seed architecture in network namespaces on this machine.

Exports are loaded lazily so the lab's own small processes (``zerospof.lab.app``,
``zerospof.lab.supervisor``) do not import the whole package and stay light on memory.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Lab", "default_state_dir"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from zerospof.lab import lab

        return getattr(lab, name)
    raise AttributeError(f"module 'zerospof.lab' has no attribute {name!r}")
