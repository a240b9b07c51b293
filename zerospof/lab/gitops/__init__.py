"""The lab's GitOps: a primary git host and a mirror kept in sync, three lease-elected reconcilers.

Modules: :mod:`.repo` (git plumbing, ``git daemon`` argv), :mod:`.mirror` (sync loop),
:mod:`.reconciler`, :mod:`.canary` (commit a revision, read what apps serve), :mod:`.layout`
(where it runs in the lab), :mod:`.faults`, :mod:`.signals`.
"""
