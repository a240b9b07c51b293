"""Make a plain ``chaos run`` exit with zerospof's codes: 2 bad input, 3 harness or target error.

chaostoolkit 1.19 has one failure code: ``chaos run`` exits 1 on any run that did not complete, and no
setting, control hook or journal key changes that. The least-bad way found: the ``run`` command runs
inside a click context, and click's documented ``Context.call_on_close`` callbacks run when that
context closes, after chaostoolkit has written the journal, sent its notifications and called
``ctx.exit(1)``; a callback raising ``click.exceptions.Exit(code)`` replaces that code. So the journal
and the notifications are kept and only the exit code changes. Outside ``chaos run`` (``zerospof run``,
the pytest gate: chaoslib's Runner called directly, which have their own exit codes) it does
nothing. Limit: it relies on chaostoolkit running controls inside its
click command (true of chaostoolkit 1.x); a future CLI that does not falls back to chaostoolkit's 1.
"""

from __future__ import annotations

from typing import Any

__all__ = ["exit_chaos_run_with"]

_KEY = "zerospof.exit_code"


def exit_chaos_run_with(code: int) -> bool:
    """Make the ``chaos run`` this control runs under exit ``code`` once it has written the journal.

    The first code set for a run wins (a refusal before the method stays 2 however the run is
    reported after). Return whether a ``chaos run`` was found (False: nothing to do here).
    """
    import click

    context = click.get_current_context(silent=True)
    if context is None or not _is_chaos_run(context):
        return False
    if _KEY not in context.meta:
        context.meta[_KEY] = code
        context.call_on_close(lambda: _exit(context))
    return True


def _is_chaos_run(context: Any) -> bool:
    root = context.find_root()
    return (context.info_name == "run" and context.parent is root
            and getattr(root.command.callback, "__module__", "").startswith("chaostoolkit."))


def _exit(context: Any) -> None:
    import click

    raise click.exceptions.Exit(context.meta[_KEY])
