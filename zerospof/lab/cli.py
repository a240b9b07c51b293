"""``zerospof lab up|down|status``: argparse wiring; each subcommand returns an exit code.

The lead's CLI calls :func:`register` with its subparsers and then ``args.handler(args)``.
``python -m zerospof.lab.cli up`` works on its own too.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from zerospof.errors import LabError

__all__ = ["register", "main"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``lab`` command (``up``, ``down``, ``status``) to ``subparsers``; return its parser."""
    lab = subparsers.add_parser("lab", help="run the embedded lab (needs root)")
    commands = lab.add_subparsers(dest="lab_command", required=True, metavar="{up,down,status}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", default=None,
                        help="lab state directory (default $ZEROSPOF_LAB_DIR or /var/tmp/zerospof-lab)")
    up = commands.add_parser("up", parents=[common], help="bring the lab up (idempotent)")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait until healthy")
    up.set_defaults(handler=_up)
    down = commands.add_parser("down", parents=[common], help="remove every lab process, namespace and link")
    down.set_defaults(handler=_down)
    status = commands.add_parser("status", parents=[common], help="exit 0 only when every component is healthy")
    status.add_argument("--json", action="store_true", help="print the full status as JSON")
    status.set_defaults(handler=_status)
    return lab


def Lab(state_dir: str | None) -> Any:  # noqa: N802 - imported on use: `zerospof --help` must not load the lab
    from zerospof.lab.lab import Lab as LabClass
    return LabClass(state_dir)


def _up(args: argparse.Namespace) -> int:
    try:
        result = Lab(args.state_dir).up(timeout_s=args.timeout)
    except LabError as exc:
        print(f"lab up failed: {exc}\nWhat did start is left running to be looked at ('zerospof lab status', the logs "
              "named above); 'zerospof lab down' removes it.", file=sys.stderr)
        return 1
    print(f"lab up in {result['up_s']:.1f}s; kubeconfig: {result['kubeconfig']}")
    for name, seconds in sorted(result["components_s"].items(), key=lambda item: item[1]):
        print(f"  {name:<18} healthy at {seconds:5.2f}s")
    return 0


def _down(args: argparse.Namespace) -> int:
    try:
        result = Lab(args.state_dir).down()
    except LabError as exc:
        print(f"lab down failed: {exc}", file=sys.stderr)
        return 1
    print(f"lab down in {result['down_s']:.1f}s")
    return 0


def _status(args: argparse.Namespace) -> int:
    try:
        status = Lab(args.state_dir).status()
    except LabError as exc:
        print(f"lab status failed: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(status, indent=2, default=str))
    elif not status["supervisor"]:
        print("lab is not running" + (f" (leftover namespaces: {status['namespaces']})"
                                      if status.get("namespaces") else ""))
    else:
        for name, state in status["components"].items():
            mark = "ok  " if state["healthy"] else "FAIL"
            print(f"{mark} {name:<18} {state['detail'][:110]}")
        print(f"kubeconfig: {status['kubeconfig']} (kubectl --kubeconfig {status['kubeconfig']} get nodes)")
        print("healthy" if status["healthy"] else "NOT healthy")
    return 0 if status["healthy"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zerospof")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
