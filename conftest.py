"""The conformance suite as a pytest plugin: picks the environment, starts the embedded sandbox,
checks the server is reachable, and keeps secrets out of every output.

Step definitions live in steps/; what they share lives in suite/.
"""

import gc
import re
import sys

import pytest

from suite.configuration.command_line import repeated_options
from suite.configuration.environment import ConfigurationError, load_environment
from suite.reports.allure_output import install_scrubber
from suite.reports.atomic_write import ReportsNotWritten
from suite.reports.interruption import die_with_parent, interruptible
from suite.reports.results import ResultRecorder, write_no_verdict
from suite.secrets.redaction import REDACTOR, readable, said, scrub_all_logging
from suite.secrets.variants import case_changed
from suite.verdict.checks import report_configuration_problem
from suite.verdict.exit_codes import EXIT_ENVIRONMENT_PROBLEM
from suite.wire.http import EnvironmentProblem, RepeatedServerError
from suite.wire.server import (
    Discovery,
    DiscoveryNotServed,
    ServerUnreachable,
    discovery_url,
    fetch_discovery,
    same_server,
)

pytest_plugins = [
    "suite.verdict.rule_selection",
    "suite.verdict.step_lookup",
    "steps.clients",
    "steps.discovery",
    "steps.token_endpoint",
    "steps.service_tokens",
    "steps.authorization",
    "steps.pkce",
    "suite.matrix.defect_matrix",
    "suite.reports.run_lock",
    "steps.access_tokens",
    "steps.refresh_tokens",
    "steps.id_tokens",
    "steps.userinfo",
    "steps.revocation",
    "steps.service_requests",
    "steps.authorization_errors",
    "steps.pkce_default_method",
    "steps.code_redemption",
    "steps.early_start",
    "steps.code_expiry",
    "steps.access_token_expiry",
    "steps.consent",
    "steps.ui_locales",
    "steps.signing_keys",
]


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "Visma Connect conformance")
    group.addoption(
        "--env",
        default="sandbox",
        metavar="NAME|PATH",
        help="environment: a name from environments/ or the path of your own YAML file (default: sandbox)",
    )
    group.addoption(
        "--defect",
        action="append",
        default=[],
        metavar="NAME",
        help="sandbox only: switch on a defect that breaks one rule (repeatable)",
    )
    group.addoption(
        "--rule",
        action="append",
        default=[],
        metavar="ID",
        help="run only the scenarios of this rule id, e.g. --rule SVC-08 (repeatable; a prefix such as PKCE works too)",
    )
    group.addoption(
        "--compliance",
        default="reports/compliance.json",
        metavar="PATH",
        help="where to write the compliance record (default: reports/compliance.json)",
    )


def pytest_configure(config):
    """A run that stops here has no verdict: its record says so and why, in place of an earlier
    run's record (xdist workers leave that to the controller). --help only shows the options."""
    if config.option.help:
        return
    repeated = repeated_options(list(config.invocation_params.args), ("--env", "--compliance"))
    if repeated:  # a usage error: no record written, the previous run's stays
        raise pytest.UsageError("usage error\n" + "\n".join(repeated))
    try:
        _configure(config)
    except (pytest.UsageError, pytest.exit.Exception) as stop:
        if not hasattr(config, "workerinput"):
            environment_problem = getattr(stop, "returncode", None) == EXIT_ENVIRONMENT_PROBLEM
            message = str(getattr(stop, "msg", stop))
            try:
                write_no_verdict(
                    config.getoption("--compliance"),
                    "environment problem" if environment_problem else "configuration problem",
                    message.removeprefix("environment problem: ").removeprefix("configuration problem\n"),
                    config.getoption("--env"),
                )
            except ReportsNotWritten as problem:  # the run's own problem stays its code; this one line says more
                print(f"ERROR: the reports could not be written\n{problem}", file=sys.stderr)
        raise


def _configure(config):
    _keep_values_out_of_tracebacks(config)
    die_with_parent()  # under python -m suite.run: a kill -9 of the runner ends this pytest too
    interruptible(config)  # Ctrl-C, kill -INT, SIGTERM: the record of what ran (exit 5), never INTERNALERROR
    _check_rule_metadata()
    try:
        environment = load_environment(config.getoption("--env"))
    except ConfigurationError as error:
        raise pytest.UsageError(f"configuration problem\n{error}") from None
    # masked before any other problem can be said (the file's own problems were masked by FileSecrets)
    scrub_all_logging()
    for role, client in environment.clients.items():
        REDACTOR.register(client.client_secret, f"clients.{role}.client_secret")
        # SVC-08 sends it with its letters' case changed: a server that compares case-insensitively echoes that
        REDACTOR.register(case_changed(client.client_secret or ""), f"clients.{role}.client_secret, case changed")
    if environment.login:
        REDACTOR.register(environment.login.password, "login.password")
        REDACTOR.secret_field(environment.login.password_field)
    _check_login_method(environment)
    _check_signing_key()
    defects = config.getoption("--defect")
    if defects:
        if not environment.is_sandbox:
            raise pytest.UsageError(f"--defect works with the embedded sandbox only, not with {environment.name}")
        environment.sandbox_defects = tuple(environment.sandbox_defects) + tuple(defects)
    from suite.wire.reproduction import remember_secret_variables

    remember_secret_variables(environment)  # reproductions name secrets by the file's variables
    if not environment.http.verify_tls:
        _warn_tls_off(config, environment)
    config.conformance_environment = environment
    config.conformance_sandbox = None
    from suite.matrix.defect_matrix import install as install_defect_matrix
    from suite.matrix.defect_matrix import requested_defect_sets

    defect_sets = requested_defect_sets(config)
    if defect_sets and (not environment.is_sandbox or defects):
        raise pytest.UsageError("--defect-matrix works with the embedded sandbox only, and without --defect")
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:
        environment.issuer = worker_input["conformance_issuer"]
    elif environment.is_sandbox:
        _start_sandbox(config, environment, [names for names in defect_sets if names])
    if defect_sets:  # the sandbox serves the clean set whether the matrix runs it or not
        issuers = (
            worker_input["conformance_issuers"]
            if worker_input
            else {names: issuer for names, issuer in config.conformance_sandbox.issuers.items() if names in defect_sets}
        )
        install_defect_matrix(config, environment, issuers)
    config.conformance_discovery_failure = None
    try:
        config.conformance_discovery = fetch_discovery(environment)
    except DiscoveryNotServed as error:  # the server's answer: DISC-01 fails, every other rule is blocked by it
        config.conformance_discovery_failure = said(str(error))
        config.conformance_discovery = Discovery(discovery_url(str(environment.issuer)), 0, {}, None)
    except ServerUnreachable as error:
        pytest.exit(f"environment problem: {said(str(error))}", returncode=EXIT_ENVIRONMENT_PROBLEM)
    _check_issuer_typo(environment, config.conformance_discovery)
    alluredir = getattr(config.option, "allure_report_dir", None)
    if alluredir:
        install_scrubber()
    if worker_input is None and not defect_sets:  # a matrix run keeps one record per defect set
        recorder = ResultRecorder(environment, config.getoption("--compliance"), alluredir)
        config.pluginmanager.register(recorder, "conformance-results")


def _check_issuer_typo(environment, discovery):
    """An issuer that differs from the server's only as a person may type it (a trailing slash,
    localhost for 127.0.0.1, ...) is most likely the file's typo: DISC-01, ID-03 and AUTH-03 failed
    for it, and `https://connect.visma.com/` sealed NOT CONFORMANT for Visma Connect itself. Any
    other difference stays DISC-01's failure."""
    from suite.configuration.environment import display_path

    published = discovery.metadata.get("issuer")
    if isinstance(published, str) and published != environment.issuer and same_server(published, environment.issuer):
        raise pytest.UsageError(
            f"configuration problem\n{display_path(environment.path)}: issuer: {environment.issuer!r}, but the server "
            f"publishes {published!r}, the same server written another way, and issuers compare exactly (RFC 8414 "
            f"section 3.3). Write issuer: {published} if that is the server's issuer"
        )


def _check_login_method(environment):
    from suite.configuration.environment import display_path
    from suite.wire.login.manual import terminal_available

    if environment.login and environment.login.method == "manual" and not terminal_available():
        raise pytest.UsageError(
            f"configuration problem\n{display_path(environment.path)}: login.method: manual sign-in needs a "
            "terminal to paste the redirect into, and this run has none (CI?). Use `form` or `browser` here"
        )
    if environment.login and environment.login.method == "browser" and not environment.login.browser_pages:
        raise pytest.UsageError(
            f"configuration problem\n{display_path(environment.path)}: login.browser.pages: missing. The browser "
            "method needs the pages to fill in; see environments/sandbox-browser.yaml"
        )


def _check_rule_metadata():
    """A feature file that declares what no rule may be (a critical rule at warning level) stops the
    run before any scenario: its verdict would be wrong."""
    from suite.configuration.rules import RuleMetadataProblem, declared_rules

    try:
        declared_rules()
    except RuleMetadataProblem as problem:
        raise pytest.UsageError(f"configuration problem\nfeatures/: {problem}") from None


def _check_signing_key():
    """A record signing key that cannot be used stops the run before any scenario, not after."""
    from suite.reports.record_seal import SigningKeyProblem, signing_key

    try:
        signing_key()
    except SigningKeyProblem as error:
        raise pytest.UsageError(f"configuration problem\n{error}") from None


def _keep_values_out_of_tracebacks(config):
    """Local variables and arguments hold tokens and codes, and pytest cuts long values in the
    middle, where no scrubbing can recognise what is left. Tracebacks show source lines only."""
    if config.option.showlocals:
        config.option.showlocals = False
        config.issue_config_time_warning(
            pytest.PytestConfigWarning("--showlocals is turned off: local variables hold secrets"), stacklevel=2
        )
    if config.option.tbstyle in ("long", "auto"):
        config.option.tbstyle = "short"
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                "--tb=long is shown as --tb=short: long tracebacks print argument values, which hold secrets"
            ),
            stacklevel=2,
        )


def _warn_tls_off(config, environment):
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # one warning, not one per request
    config.issue_config_time_warning(
        pytest.PytestConfigWarning(
            f"TLS certificates are NOT verified for {environment.name} (http.verify_tls: false); "
            "the results say nothing about who answered"
        ),
        stacklevel=2,
    )


def _start_sandbox(config, environment, more_defect_sets=()):
    from suite.wire.embedded_sandbox import start_sandbox

    try:
        config.conformance_sandbox = start_sandbox(environment, more_defect_sets)
    except ValueError as error:  # an unknown defect name
        raise pytest.UsageError(f"configuration problem\n{error}") from None
    environment.issuer = config.conformance_sandbox.issuer


def pytest_unconfigure(config):
    from suite.wire.login.browser import close_browser

    close_browser()
    sandbox = getattr(config, "conformance_sandbox", None)
    if sandbox is not None:
        sandbox.stop()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: workers use the controller's sandbox and issuer."""
    node.workerinput["conformance_issuer"] = node.config.conformance_environment.issuer
    if getattr(node.config, "defect_matrix_environments", None):
        node.workerinput["conformance_issuers"] = {
            name: env.issuer for name, env in node.config.defect_matrix_environments.items()
        }


@pytest.fixture(scope="session")
def environment(request, pytestconfig):
    # A detection-matrix run (suite.matrix.defect_matrix) gives each defect set its own.
    return getattr(request, "param", pytestconfig.conformance_environment)


@pytest.fixture(scope="session")
def discovery(pytestconfig, environment):
    from suite.wire.server import discovery_of

    return discovery_of(pytestconfig, environment)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """What start-up made (modules, plugins, the features' scenarios, the sandbox) lasts the whole
    run: frozen, the garbage collector no longer walks it again at each full collection, nor at
    pytest's end, where pytest collects five times over to find unraisable exceptions."""
    gc.freeze()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Scrub every secret from what pytest shows of a failure or a skip (messages, tracebacks, locals, output),
    then cut its overlong lines."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(EnvironmentProblem):
        report.user_properties.append(("environment_problem", True))
        if call.excinfo.errisinstance(RepeatedServerError):
            report.user_properties.append(("server_error", call.excinfo.value.sentence or True))
        kind = "server error" if call.excinfo.errisinstance(RepeatedServerError) else "environment problem"
        report.longrepr = f"{kind}: {call.excinfo.value}"  # the cause, not a traceback
    report_configuration_problem(report, call.excinfo)
    if call.excinfo is not None and getattr(call.excinfo.value, "expected", None) is not None:
        compared = call.excinfo.value  # a check that compared two values: the report sets them side by side
        report.user_properties.append(("difference", {"expected": compared.expected, "received": compared.received}))
    if report.failed and report.longrepr is not None:
        report.longrepr = readable(str(report.longrepr))
    elif report.skipped and isinstance(report.longrepr, tuple):  # a reason may quote the server's answer
        path, line, reason = report.longrepr
        report.longrepr = (path, line, readable(reason))
    report.sections = [(title, readable(text)) for title, text in report.sections]


@pytest.hookimpl(tryfirst=True)  # before allure-pytest-bdd closes the step: what is attached goes into it
def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception):
    """Which step failed, so that a failure before the rule's own check can be reported as blocked;
    and the failing step gets the reproduction of the request it checked (made by an earlier step)."""
    from suite.verdict.blocking import record_failed_step
    from suite.wire.http import attach_reproduction

    record_failed_step(request, scenario, step, exception)
    state = step_func_args.get("state")
    if state is not None and getattr(state, "http", None) is not None:
        attach_reproduction(state.http)


@pytest.fixture
def state(environment):
    """A scenario's own state: its own HTTP session (cookies), verifier, code and tokens."""
    from suite.wire.http import HttpClient
    from suite.wire.scenario import ScenarioState

    return ScenarioState(http=HttpClient(environment.http, environment.issuer))


def _client_role(scenario) -> str | None:
    """The client the scenario plays (its `Given the "spa" client of the environment`), or None: a
    refusal rule's control is the same client's request (suite/verdict/blocking.py)."""
    for step in scenario.steps:
        found = re.fullmatch(r'the "(\w+)" client of the environment', step.name)
        if found:
            return found.group(1)
    return None


@pytest.hookimpl(trylast=True)  # after allure-pytest-bdd has opened the scenario's test case
def pytest_bdd_before_scenario(request, feature, scenario):
    """Carry each scenario's rule metadata into its report (and from xdist workers to the
    controller), and label it in Allure: epic = documentation page, story = rule."""
    from suite.configuration.rules import rule_of, rule_title
    from suite.reports.allure_labels import label_scenario
    from suite.reports.results import rule_properties

    rule = rule_of(set(feature.tags) | set(scenario.tags))
    if rule is None:
        return
    # The rule's title is the scenario's name as written, its outline placeholders read as the rows they stand for.
    template = next((t for t in feature.scenarios.values() if t.line_number == scenario.line_number), scenario)
    title = rule_title(template.name.removeprefix(rule.rule_id).strip())
    request.node.user_properties += [
        ("rule", rule_properties(rule, title)),
        ("scenario", scenario.name),
        ("feature", feature.name),
        ("client_role", _client_role(scenario)),
    ]
    label_scenario(rule, title, scenario.tags)
    failure = request.config.conformance_discovery_failure
    if failure:  # no discovery document, nothing to run: DISC-01 fails for it, every other rule is blocked
        from suite.verdict.checks import NonConformance

        own = rule.rule_id == "DISC-01"
        step = {"step": "the discovery document", "own_check": own, "no_discovery": True}
        request.node.user_properties.append(("failed_step", step))
        raise NonConformance(failure if own else f"not run: {failure}")
