"""python -m appside --app=PATH [pytest options]: certify an application (see
docs/certify-application.md). The same as python -m pytest -c appside/pytest.ini appside/features ...
`make certify-app` runs it through appside.certify, which adds the HTML report under the folder's lock."""

import sys
from pathlib import Path

import pytest

from suite.configuration.rules import rule_option_values, unknown_rules

HERE = Path(__file__).resolve().parent
USAGE = (
    "python -m appside --app=PATH [options]: certify an application (docs/certify-application.md).\n"
    "Its own options (--app, --rule, --compliance) are under 'Visma Connect application certification'\n"
    "below, pytest's after.\n"
)


def refuses_unknown_rules(arguments: list[str]) -> bool:
    """Whether a --rule names no rule (said on stderr): it would run nothing, and its "incomplete"
    record would replace the previous run's."""
    unknown = unknown_rules(rule_option_values(arguments), HERE / "features")
    if unknown:
        print("ERROR: usage error\n" + "\n".join(unknown), file=sys.stderr)
    return bool(unknown)


def certify(arguments: list[str], plugins: tuple = ()) -> int:
    if refuses_unknown_rules(arguments):
        return int(pytest.ExitCode.USAGE_ERROR)  # 4, as pytest's own usage errors
    return int(
        pytest.main(
            ["-c", str(HERE / "pytest.ini"), "--rootdir", str(HERE), str(HERE / "features"), *arguments],
            plugins=list(plugins),
        )
    )


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):  # what this command is, above pytest's list of options
        print(USAGE)
    sys.exit(certify(sys.argv[1:]))
