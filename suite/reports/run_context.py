"""Who ran the suite and from which CI job, as the CI says (GitHub Actions, GitLab CI), for the
record and the certificate. Outside CI: the local user name and the machine's, and no job."""

import getpass
import os
import socket
from collections.abc import Mapping


def who_ran(environ: Mapping[str, str] = os.environ) -> dict:
    return {**_who(environ), "host": socket.gethostname()}


def _who(environ: Mapping[str, str]) -> dict:
    if environ.get("GITHUB_ACTIONS") == "true":
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        repository, run_id = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_RUN_ID", "")
        return {
            "user": environ.get("GITHUB_ACTOR", "unknown"),
            "ci": "GitHub Actions",
            "job": " / ".join(filter(None, (repository, environ.get("GITHUB_WORKFLOW"), environ.get("GITHUB_JOB")))),
            "job_url": f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else "",
        }
    if environ.get("GITLAB_CI") == "true":
        return {
            "user": environ.get("GITLAB_USER_LOGIN", "unknown"),
            "ci": "GitLab CI",
            "job": " / ".join(filter(None, (environ.get("CI_PROJECT_PATH"), environ.get("CI_JOB_NAME")))),
            "job_url": environ.get("CI_JOB_URL", ""),
        }
    if environ.get("CI"):
        return {"user": environ.get("USER", "unknown"), "ci": "CI", "job": environ.get("CI_JOB_ID", ""), "job_url": ""}
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"user": user, "ci": "", "job": "", "job_url": ""}
