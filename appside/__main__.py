"""python -m appside --app=PATH [pytest options]: certify an application (see
docs/certify-application.md). The same as python -m pytest -c appside/pytest.ini appside/features ...
`make certify-app` runs it through appside.certify, which adds the HTML report under the folder's lock."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
USAGE = (
    "python -m appside --app=PATH [options]: certify an application (docs/certify-application.md).\n"
    "Its own options (--app, --rule, --compliance) are under 'Visma Connect application certification'\n"
    "below, pytest's after.\n"
)


def certify(arguments: list[str], plugins: tuple = ()) -> int:
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
