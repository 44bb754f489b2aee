"""Python's default trust store, as a Python application meets it in production, for APPC-33's run: the suite
launches the application again with this folder on PYTHONPATH and without REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE
(appside.launcher.as_in_production), which override a requests Session's verify=False (psf/requests#3829).

certifi's bundle is where requests and httpx look when the application names no authority: it is made to hold the
stand-in's (VISMA_CONNECT_CA_BUNDLE), as Visma Connect's authority is in certifi's bundle in production, so an
application that trusts the default store reaches the stand-in, and one that turned validation off stays so.
Python reads this file as it starts (the site module); the sitecustomize it stands in front of is read after it."""

import importlib.machinery
import importlib.util
import os
import sys


def _stand_in_trusted_by_default() -> None:
    bundle = os.environ.get("VISMA_CONNECT_CA_BUNDLE")
    if not bundle:
        return
    try:
        import certifi
        import certifi.core
    except ImportError:  # no certifi: requests and httpx are not there either
        return
    certifi.where = certifi.core.where = lambda: bundle


def _the_one_behind() -> None:
    """The sitecustomize this one hides (a distribution's), if there is one."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_stand_in_trusted_by_default()
_the_one_behind()
