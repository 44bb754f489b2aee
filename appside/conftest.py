"""Application-side certification as a pytest plugin: reads the application file, starts the
Visma Connect stand-in with the application's registration, launches the application if its
file says how, and keeps secrets out of every output.

The steps are in appside/steps/; the stand-in is the embedded sandbox."""

import contextlib
import errno
import gc
import shutil
import tempfile
from pathlib import Path

import pytest

from suite.configuration.command_line import repeated_options
from suite.configuration.environment import ConfigurationError
from suite.reports.allure_output import install_scrubber
from suite.reports.interruption import interruptible
from suite.secrets.redaction import REDACTOR, said, scrub_all_logging

pytest_plugins = [
    "suite.reports.run_lock",  # one certification at a time per reports folder
    "suite.verdict.rule_selection",
    "suite.verdict.step_lookup",
    # each after those it imports: pytest rewrites a plugin's asserts as it registers it, not once imported
    "appside.steps.sign_ins",
    "appside.steps.requests_sent",
    "appside.steps.service",
    "appside.steps.refusals",
    "appside.steps.leaks",
    "appside.steps.client_secret",
    "appside.steps.server_certificate",
]


def pytest_addoption(parser) -> None:
    group = parser.getgroup("application", "Visma Connect application certification")
    group.addoption("--app", metavar="PATH", help="the application file (see examples/*/application.yaml)")
    group.addoption(
        "--rule",
        action="append",
        default=[],
        metavar="ID",
        help="run only this rule id (repeatable; a prefix such as APPC works too)",
    )
    group.addoption(
        "--compliance",
        default="reports/app/compliance.json",
        metavar="PATH",
        help="where to write the certification record (default: reports/app/compliance.json, as make certify-app)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config) -> None:
    """--clean-alluredir waits until the run is under way (_clean_results): Allure's plugin cleaned the
    folder as it was configured, so a bad application file, a port in use or a launch that failed
    (exit 4) deleted the previous run's results, from which `make certify-app` then made an empty report."""
    config.clean_results_once_under_way = getattr(config.option, "clean_alluredir", False)
    config.option.clean_alluredir = False
    if not (config.option.help or config.option.version):
        _refuse_usage_errors(config)


def _refuse_usage_errors(config) -> None:
    """Before any plugin is configured (Allure's makes its results folder): an option given twice (pytest
    kept the last, silently), and pytest-xdist, whose workers each launched the application and a stand-in
    of their own and crashed (an INTERNALERROR traceback)."""
    usage = repeated_options(list(config.invocation_params.args), ("--app", "--compliance"))
    if config.getoption("numprocesses", None) or config.getoption("tx", None):
        usage.append(
            f"-n {config.getoption('numprocesses', None) or 'with --tx'}: the application side certifies one "
            "application with one stand-in in one process (the sign-ins it runs at once are its own). Leave out -n"
        )
    if usage:
        raise pytest.UsageError("usage error\n" + "\n".join(usage))


def _clean_results(config) -> None:
    alluredir = getattr(config.option, "allure_report_dir", None)
    if alluredir and getattr(config, "clean_results_once_under_way", False) and not config.option.collectonly:
        shutil.rmtree(alluredir, ignore_errors=True)
        Path(alluredir).mkdir(parents=True, exist_ok=True)


# the stand-in listens on the port on ::1 too (appside.stand_in.start_stand_in): where another process holds that
IPV6_TOO = (
    " on [::1] (the issuer names localhost, which a client may resolve to ::1, so the stand-in listens there too)"
)


@pytest.hookimpl(trylast=True)  # after pytest's terminal reporter exists: the issuer must be printed
def pytest_configure(config):
    from appside.application import load_application
    from appside.launcher import LaunchedApplication, LaunchFailed, issuer_variables
    from appside.record import ApplicationRecorder
    from appside.stand_in import start_stand_in
    from appside.tls import stand_in_tls

    if config.option.help or config.option.version:  # python -m appside --help: the options, exit 0
        return
    interruptible(config)  # Ctrl-C, kill -INT (SIGINT ignored too), SIGTERM: the record of what ran, in order
    config.option.showlocals = False
    if config.option.tbstyle in ("long", "auto"):
        config.option.tbstyle = "short"  # long tracebacks print values, which hold secrets
    if not config.getoption("--app"):
        raise pytest.UsageError(
            "configuration problem\n--app: missing. Name the application file, e.g. "
            "--app=examples/web_app/application.yaml"
        )
    try:
        application = load_application(config.getoption("--app"))
    except ConfigurationError as error:
        raise pytest.UsageError(f"configuration problem\n{error}") from None
    # masked before any other problem can be said (the file's own problems were masked by FileSecrets)
    scrub_all_logging()
    REDACTOR.register(application.client_secret, "application.client_secret")
    if application.drive.mode == "manual":
        from appside.manual_driver import terminal_available

        if not terminal_available():
            raise pytest.UsageError(
                "configuration problem\ndrive.mode: manual needs a terminal (CI has none); "
                "use `browser` where the suite can drive the application"
            )
    config.application = application
    try:
        config.stand_in_tls = stand_in_tls() if application.issuer_tls else None
    except OSError as error:
        raise pytest.UsageError(
            f"configuration problem\nissuer.tls: cannot keep the certificate authority: {error}"
        ) from None
    try:
        config.stand_in, config.test_user = start_stand_in(application, config.stand_in_tls)
    except OSError as error:
        why = (
            f"another process is listening on it{IPV6_TOO if '[::1]' in str(error) else ''}; stop it or choose another "
            "port (0: any free one)"
            if error.errno == errno.EADDRINUSE
            else f"{error.strerror}; choose another port"
        )
        raise pytest.UsageError(
            f"configuration problem\nissuer.port: cannot listen on {application.issuer_port}: {why}"
        ) from None
    REDACTOR.register(config.test_user.password, "test user password")
    _announce(config, application, config.stand_in.issuer, config.stand_in_tls)
    config.launched = None
    config.output_file_start = _size(application.drive.output_file)  # only what this run makes it write counts
    if application.drive.launch:  # started now, waited for once the browser is launched (_launched)
        from appside.steps.leaks import LeftOutWatch

        log = _run_folder(config) / "application.log"
        try:
            variables = issuer_variables(config.stand_in.issuer, config.stand_in_tls and config.stand_in_tls.ca_path)
            config.launched = LaunchedApplication(
                application.drive.launch, variables, application.drive.ready_url or application.drive.sign_in_url, log
            )
            config.launched.watch_left_out(LeftOutWatch())  # APPC-28's, on what the run does not keep
        except LaunchFailed as error:  # something already answers at its address: nothing was launched
            config.stand_in.stop()
            config.stand_in = None  # stopped: pytest_unconfigure must not stop it again
            raise pytest.UsageError(f"configuration problem\ndrive.launch: {said(str(error))}") from None
    alluredir = getattr(config.option, "allure_report_dir", None)
    if alluredir:
        install_scrubber()
    config.pluginmanager.register(
        ApplicationRecorder(application, config.stand_in.issuer, config.getoption("--compliance"), alluredir),
        "application-results",
    )


@pytest.hookimpl(trylast=True)  # after --rule deselected what it does not name
def pytest_collection_modifyitems(config, items) -> None:
    from appside.concurrent import planned_steps

    config.planned_steps = planned_steps(items)  # what the sign-ins made at once are for
    _launched(config)


def _launched(config) -> None:
    """The browser is launched (where a selected scenario signs in through it) while the application
    starts, and then the application is waited for: a launch that fails is a configuration problem."""
    from appside.concurrent import needs_browser
    from appside.launcher import LaunchFailed
    from appside.steps.sign_ins import driver

    try:
        if config.application.drive.mode == "browser" and needs_browser(config.planned_steps):
            driver(config)
        if config.launched is not None:
            try:
                config.launched.wait_until_ready()
            except LaunchFailed as error:
                raise pytest.UsageError(f"configuration problem\ndrive.launch: {said(str(error))}") from None
        _sign_in_url_listens(config)
    except BaseException:  # a launch that failed, Ctrl-C while waiting for it: the previous run's reports stay
        _write_nothing(config)
        raise
    _clean_results(config)  # nothing stopped the run: the previous run's results go
    config.under_way = True
    # what is alive now lives for the whole run (modules, the browser's driver, the stand-in): kept out of the
    # garbage collector's full passes, which otherwise walk its 120,000 objects again each time (0.14 s of a web
    # application's 1.9 s of CPU in its five full passes, two of them pytest's at the end)
    gc.freeze()
    with contextlib.suppress(OSError):
        _kept_log(config).unlink(missing_ok=True)  # an earlier run's: this one's is written at its end, if it has one


def _sign_in_url_listens(config) -> None:
    """Where the browser is to sign in, something must listen at drive.sign_in_url once the application is
    ready: a port nothing listens on (a typo, the application's other port) is a configuration problem, said at
    once, not after every sign-in waited drive.timeout on the browser's error page."""
    from appside.concurrent import needs_browser
    from appside.launcher import connection_refused

    drive = config.application.drive
    if drive.mode != "browser" or not drive.sign_in_url or not needs_browser(config.planned_steps):
        return
    refused = connection_refused(drive.sign_in_url)
    if refused:
        if config.launched is not None:
            config.launched.stop()
        ready = drive.ready_url if drive.ready_url and drive.ready_url != drive.sign_in_url else ""
        answered = f", though the application answered at drive.ready_url {ready}" if ready and config.launched else ""
        raise pytest.UsageError(
            f"configuration problem\ndrive.sign_in_url: {said(drive.sign_in_url)}: {refused}{answered}. Make "
            "drive.sign_in_url name the host and port the application serves its sign-in page on"
        )


def _write_nothing(config) -> None:
    """A run that stops before it is under way writes no report: neither the record nor JUnit XML,
    whose plugin wrote an empty "tests=0 failures=0" file over the previous run's at the session's
    end (a CI job reading it saw a green run). The Allure results are cleaned only once under way."""
    from _pytest.junitxml import xml_key

    config.pluginmanager.unregister(name="application-results")
    junit = config.stash.get(xml_key, None)
    if junit is not None:
        del config.stash[xml_key]
        config.pluginmanager.unregister(junit)


def _run_folder(config) -> Path:
    """A folder of this run's alone (mode 0700) in the temporary folder, removed when the run ends
    however it ends (pytest's cleanups run after an error, Ctrl-C, SIGTERM and a usage error too)."""
    folder = tempfile.TemporaryDirectory(prefix="appside-")
    config.add_cleanup(folder.cleanup)
    return Path(folder.name)


def _keep_application_log(config) -> None:
    """The launched application's output, scrubbed of every secret the run learned, beside the
    record (application.log): the one part of the run's temporary folder worth keeping."""
    from suite.secrets.redaction import blobs_masked

    try:
        text = config.launched.output()
        kept = _kept_log(config)
        kept.parent.mkdir(parents=True, exist_ok=True)
        # its control characters written as escapes, as the terminal shows them (a terminal escape an
        # application printed is read, not obeyed, by whoever opens the file); a blob holding a secret masked
        kept.write_text(said(blobs_masked(text)), encoding="utf-8")
    except OSError:
        pass  # no output, or no reports folder to keep it in: the report's attachments still show it


def _kept_log(config) -> Path:
    return Path(config.getoption("--compliance")).parent / "application.log"


def _size(path: str | None) -> int:
    try:
        return Path(path).stat().st_size if path else 0
    except OSError:
        return 0


def _announce(config, application, issuer: str, tls) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"Visma Connect stand-in for {application.client_id} ({application.app_type}): issuer {issuer}",
        f"  discovery {issuer}/.well-known/openid-configuration, Visma API stand-in {issuer}/api/",
    ]
    if tls:
        lines.append(f"  HTTPS: trust the certificate authority {tls.ca_path} (made by the suite, kept between runs)")
    for line in lines:
        if reporter:
            reporter.write_line(line)


def pytest_terminal_summary(terminalreporter):
    """Where the run's time went, in counts the machine's load does not change (appside.effort)."""
    from appside.effort import EFFORT

    terminalreporter.write_line(EFFORT.summary())
    recorder = terminalreporter.config.pluginmanager.get_plugin("application-results")
    for notice in getattr(recorder, "notices", ()):
        terminalreporter.write_line(f"NOTE: {notice}", red=True, bold=True)


def pytest_unconfigure(config) -> None:
    from appside.steps.sign_ins import close_driver

    if getattr(config, "launched", None):
        config.launched.terminate()  # it ends while the browser closes
    try:
        close_driver()
    finally:  # a second Ctrl-C or SIGTERM while the browser closes: the application is stopped all the same
        if getattr(config, "launched", None):
            config.launched.stop()
            if getattr(config, "under_way", False):  # a launch that failed changes nothing beside the record
                _keep_application_log(config)
        if getattr(config, "stand_in", None):
            config.stand_in.stop()
        _end_what_the_application_left(config)


def _end_what_the_application_left(config) -> None:
    """Every process the run started carries its marker (appside.launcher.RUN_MARKER): what the application
    or its service command moved into a session of its own (setsid, a daemon) outlived the run before,
    SIGTERM ignored; ended here, on every way out of the run (an interrupted one too), and said."""
    from appside.launcher import end_marked

    ended = end_marked()
    if ended:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        line = (
            f"NOTE: the suite ended {len(ended)} process(es) the application or its command left running after the "
            f"run, in sessions of their own (process ids {', '.join(map(str, ended[:10]))})"
        )
        if reporter is not None:
            reporter.write_line(line, yellow=True)


@pytest.fixture(scope="session")
def application(pytestconfig):
    return pytestconfig.application


@pytest.fixture(scope="session")
def stand_in(pytestconfig):
    return pytestconfig.stand_in


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    from suite.verdict.checks import report_configuration_problem

    # the browser's refusal of the test user's password for another origin: the suite's policy, no sentence
    report_configuration_problem(report, call.excinfo)
    if report.failed and report.longrepr is not None:
        report.longrepr = said(str(report.longrepr))
    report.sections = [(title, said(text)) for title, text in report.sections]


# the scenario's fixture request (pytest_bdd_before_scenario): its steps ask for app_run through it, so the
# test item's funcargs never hold it
SCENARIO_REQUEST = pytest.StashKey[pytest.FixtureRequest]()


# The rules that judge what a service's token request carried (the secret's place, the form, the tenant, one
# authentication): a run that failed after sending one still shows that (a service that used an expired token
# and exited 1 on the API's refusal sent its token requests as it always does)
TOKEN_REQUEST_RULES = ("APPC-11", "APPC-12", "APPC-13", "APPC-24")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A service rule that found nothing wrong in runs that failed (the command exited non-zero or did not
    finish) passed on no evidence: such a run shows nothing of what the service does once it works (an
    Authlib service that crashed before every API call was certified). It found nothing to check: blocked by
    the failed rule that explains the crash (`needs`), or else could not be checked, never passed."""
    result = yield
    request = item.stash.get(SCENARIO_REQUEST, None)
    application = getattr(item.config, "application", None)
    if request is None or application is None or application.is_interactive:
        return result
    app_run = request.getfixturevalue("app_run")  # the scenario's, or a new one with no run where it had none
    from appside.steps.service import failed_runs, refused_for_a_token_in_its_url

    failed = failed_runs(app_run, application.access_token_lifetime)
    rule_id = (dict(item.user_properties).get("rule") or {}).get("rule_id")
    if failed and rule_id in TOKEN_REQUEST_RULES and any(observed.token_requests for observed in app_run.observed):
        return result  # what its token requests carried is there, however the run ended after them
    if rule_id == "APPC-33":  # a run of its own, under a certificate a service that validates refuses: it fails
        return result
    if failed and rule_id == "APPC-28" and refused_for_a_token_in_its_url(app_run):
        return result  # it did all it does, and printed it: the refusal is APPC-26's token in a URL (as on the web)
    if failed:
        from suite.verdict.checks import NothingToCheck

        item.user_properties.append(
            ("failed_step", {"step": "the service's runs", "own_check": False, "nothing_to_check": True})
        )
        raise NothingToCheck(said(failed))
    return result


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception):
    """Which step failed, so that a failure before the rule's own check can be reported as blocked
    by the rule that broke the sign-in (`needs` in appside/features/rules.yaml). Every Then of an
    application rule is its own check (a refusal is several: no signed-in page, no API call, no
    redemption), unless it found nothing to check; a Given or When only prepares it. A step that found
    nothing to check is blocked by the rule that broke the sign-in, or else could not be checked."""
    from suite.verdict.checks import ConfigurationProblem, Delivered, MetTheCause, NonConformance, NothingToCheck
    from suite.wire.http import UntrustedEndpoint

    nothing = isinstance(exception, NothingToCheck)
    # the browser's fence refused what a page sent: its own cause, whichever step's sign-in it stopped, never
    # "blocked by" a rule that happened to fail too
    own_check = (step.type == "then" and not nothing) or isinstance(exception, UntrustedEndpoint)
    failed_step = {"step": f"{step.keyword} {step.name}".strip(), "own_check": own_check}
    if nothing:  # not blocked by a rule that failed: could not be checked (appside.record), never a failure
        failed_step["nothing_to_check"] = True
    if isinstance(exception, Delivered):  # the answer still gave what the rules needing this one rely on
        failed_step["delivered"] = True
    if isinstance(exception, MetTheCause):  # met a needed rule's very violation (no challenge to judge): blocked by it
        failed_step["met_the_cause"] = True
    rule = dict(request.node.user_properties).get("rule") or {}
    # a configuration problem breaks no sentence: the rule's is not quoted beside it
    judged = isinstance(exception, NonConformance) and not isinstance(exception, ConfigurationProblem)
    if own_check and judged and not nothing and rule.get("rule_id"):
        from appside.record import with_its_sentence

        # the report is made from the exception after this hook: its message quotes the rule's sentence
        exception.args = (with_its_sentence(str(exception), rule["rule_id"]), *exception.args[1:])
    request.node.user_properties.append(("failed_step", failed_step))


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request, feature, scenario) -> None:
    import allure

    from suite.configuration.rules import rule_of
    from suite.reports.allure_labels import label_scenario
    from suite.reports.results import rule_properties

    request.node.stash[SCENARIO_REQUEST] = request
    rule = rule_of(set(feature.tags) | set(scenario.tags))
    if rule is None:
        return
    title = scenario.name.removeprefix(rule.rule_id).strip()
    request.node.user_properties += [
        ("rule", rule_properties(rule, title)),
        ("scenario", scenario.name),
        ("feature", feature.name),
    ]
    label_scenario(rule, title, scenario.tags)
    application = request.config.application
    allure.dynamic.parent_suite(f"Application {application.client_id} ({application.app_type})")
