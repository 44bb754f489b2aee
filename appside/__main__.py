"""python -m appside --app=PATH [pytest options]: certify an application (see
docs/certify-application.md). The same as python -m pytest -c appside/pytest.ini appside/features ..."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.exit(
        pytest.main(["-c", str(HERE / "pytest.ini"), "--rootdir", str(HERE), str(HERE / "features"), *sys.argv[1:]])
    )
