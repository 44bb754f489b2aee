"""Verdict: how a check passes or fails and what a run's outcome means: checks, one cause one failure
(blocking), rule selection, the exit codes and pytest-bdd's step lookup. Uses configuration and
secrets; never the wire or the reports."""
