"""``zerospof revert --target FILE``: restore what zerospof left in the target itself, with or without a ledger.

Runs after the ledger replay of ``zerospof revert`` (which restores everything its records name), so a
fresh CI runner whose ledger died with the previous runner still finds and restores the faults in the
target: see :mod:`zerospof.aws.leftovers` for what is found and how.
"""

from __future__ import annotations

from zerospof.errors import EXIT_MET, EXIT_MISSED, ConfigError

__all__ = ["revert_in_target"]


def revert_in_target(target_path: str) -> int:
    """Restore every zerospof leftover found in the target file's environment; print one line each.

    Exit code: 0 nothing left (or all restored), 1 something could not be restored. Raises ConfigError
    (exit 2) for a bad or non-AWS target file and NoAccess / SafetyRefusal (exit 3) before touching anything.
    """
    from zerospof.aws.leftovers import restore_leftovers
    from zerospof.targets import LabTarget, resolve_target

    target = resolve_target(target_path)
    if isinstance(target, LabTarget):
        raise ConfigError("command line", "--target", "revert --target takes an AWS target file; the lab's faults "
                          "are in the ledger (and `zerospof lab down` removes everything)", target_path)
    found = restore_leftovers(target)
    if not found:
        print(f"nothing left by zerospof in target {target.name} ({target_path})")
        return EXIT_MET
    for leftover in found:
        print(leftover.render())
    return EXIT_MET if all(leftover.restored for leftover in found) else EXIT_MISSED
