"""The README and docs/ show commands and links people copy: every command runs (its make target
exists, its python module imports, its script and the repository paths it names exist, its
options are ones the command takes, a command with a --help shows it), and every link resolves,
section anchors included."""

import functools
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The pages the README promises, one per task; others add sections to them on their own branches.
TASK_PAGES = (
    "go-live-check",
    "certify-server",
    "certify-application",
    "client-libraries",
    "nightly-ci",
    "reading-a-report",
    "writing-a-rule",
    "reference-environment-keys",
    "reference-exit-codes",
    "reference-rules",
)
COMMAND_START = re.compile(r"^(make |\.venv/bin/python |python3? -m |node_modules/\.bin/|npx )")
# Modules whose --help is quick and documents the command line a page shows.
HELPFUL = {
    "suite.reports.verify",
    "suite.reports.certificate",
    "suite.reports.merge_records",
    "suite.reports.html_report",
    "suite.reports.serve_report",
    "sandbox",
}
README_SCREENS = 60  # lines: two screens


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^ *```(?:sh|bash|shell)\n(.*?)^ *```", text, flags=re.M | re.S)


def _commands(text: str) -> list[str]:
    """Lines of the shell blocks (comments cut off) and inline code that starts like a command."""
    commands = []
    for block in _code_blocks(text):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    prose = re.sub(r"^ *```.*?^ *```", "", text, flags=re.M | re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if COMMAND_START.match(span):
            commands.append(span)
    return commands


def _all_commands() -> list[tuple[str, str]]:
    return [(_page_id(page), command) for page in PAGES for command in _commands(page.read_text(encoding="utf-8"))]


@functools.cache
def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))


@functools.cache
def _make_variables() -> set[str]:
    return set(re.findall(r"^([A-Z]+)\s*\??=", (ROOT / "Makefile").read_text(), flags=re.M))


@functools.cache
def _pytest_options() -> str:
    """The options of the suite's pytest (its conftest's and plugins' included), as --help lists them."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    ).stdout


def _placeholder(token: str) -> bool:
    return bool(re.search(r"[A-Z]{3,}|\.\.\.|[<>\[\]|$*]|/home/|/path/|^/tmp/", token))


def _repository_path(token: str) -> str | None:
    """A token that names a file or folder of the repository (not one a run writes, not a placeholder)."""
    value = token.split("=", 1)[1] if re.match(r"^(-|[A-Z]+=)", token) and "=" in token else token
    if "/" not in value or "://" in value or _placeholder(value) or value.startswith(("-", "/")):
        return None
    first = value.split("/", 1)[0]
    if first in ("reports", ".venv", "node_modules") or not (ROOT / first).is_dir():
        return None
    return value


def _lists(help_text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text) is not None


def _check_python(words: list[str]) -> list[str]:
    problems = []
    if words[1:2] == ["-m"]:
        module = words[2]
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return [f"no module {module}"]
        options = [w.split("=", 1)[0] for w in words[3:] if w.startswith("-") and not _placeholder(w.split("=")[0])]
        if module in ("pytest", "suite.run"):
            listed = _pytest_options()
            problems += [f"{module} takes no option {o}" for o in options if o != "--reports" and not _lists(listed, o)]
        if module in HELPFUL:
            shown = subprocess.run(
                [sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
            )
            if shown.returncode != 0:
                problems.append(f"{module} --help exits {shown.returncode}: {shown.stderr[-500:]}")
            problems += [f"{module} --help shows no {o}" for o in options if not _lists(shown.stdout, o)]
    elif not (ROOT / words[1]).exists():
        problems.append(f"no script {words[1]}")
    return problems


def _problems(command: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError as error:
        return [f"does not parse: {error}"]
    while len(words) > 1 and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        words = words[1:]  # an assignment before the command: its environment, as the shell reads it
    if words[0] == "make":
        targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
        variables = [w.split("=", 1)[0] for w in words[1:] if "=" in w]
        problems = [f"no make target {t}" for t in targets if t not in _make_targets()]
        problems += [f"the Makefile has no variable {v}" for v in variables if v not in _make_variables()]
    elif words[0] in (".venv/bin/python", "python", "python3"):
        problems = _check_python(words)
    else:
        problems = [] if (ROOT / words[0]).exists() or words[0] == "npx" else [f"no {words[0]}"]
    for word in words[1:]:
        path = _repository_path(word)
        if path and not (ROOT / path).exists():
            problems.append(f"no {path} in the repository")
    return problems


@pytest.mark.parametrize("page, command", _all_commands(), ids=lambda value: str(value)[:60])
def test_every_command_shown_runs(page, command):
    assert not _problems(command), f"{page}: `{command}`: {'; '.join(_problems(command))}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^ *```.*?^ *```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def _links() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = re.sub(r"^ *```.*?^ *```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
        found += [(_page_id(page), target) for target in re.findall(r"\]\(([^)\s]+)\)", text)]
    return found


@pytest.mark.parametrize("page, target", _links())
def test_every_link_resolves(page, target):
    if re.match(r"^[a-z]+:", target):  # https://..., mailto:: not this machine's to check
        return
    path, _, anchor = target.partition("#")
    linked = (ROOT / page).parent / path if path else ROOT / page
    assert linked.exists(), f"{page}: link to {target}: no such file"
    if anchor:
        assert anchor in _anchors(linked), f"{page}: link to {target}: no section with that anchor in {path or page}"


def test_inline_repository_paths_exist():
    """A path written in backticks in prose (`features/rules.yaml`, `sandbox/defects.py`) is there."""
    missing = []
    for page in PAGES:
        prose = re.sub(r"^ *```.*?^ *```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
        for span in re.findall(r"`([^`\n ]+)`", prose):
            path = _repository_path(span)
            if path and not (ROOT / path).exists():
                missing.append(f"{_page_id(page)}: `{span}`")
    assert not missing, "paths that are not in the repository: " + ", ".join(missing)


def test_the_readme_is_two_screens_and_links_every_task_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_SCREENS, f"README.md has {len(readme.splitlines())} lines"
    for name in TASK_PAGES:
        assert (ROOT / "docs" / f"{name}.md").exists(), f"docs/{name}.md is missing"
        assert f"(docs/{name}.md)" in readme, f"README.md does not link docs/{name}.md"
    shown = [c for block in _code_blocks(readme) for c in block.splitlines() if c.strip()]
    assert [c.split("#")[0].strip() for c in shown] == ["make conformance", "make test"], shown


def test_the_partner_template_suggests_env_with_an_equals_sign():
    """`--env /path` (a separate argument) sends pytest to the wrong root folder; `--env=/path` works."""
    template = (ROOT / "environments" / "partner-template.yaml").read_text()
    assert not re.search(r"--env \S", template), "partner-template.yaml suggests --env PATH without ="
    assert "--env=" in template


def test_every_rule_links_to_a_section_of_its_documentation():
    """A rule's documentation link (record, HTML report, certificate) opens at its section."""
    from suite.configuration.rules import FEATURES, rule_of

    for path in sorted(FEATURES.glob("*.feature")):
        lines = path.read_text().splitlines()
        page_tags = {t.lstrip("@") for t in lines[0].split()} if lines and lines[0].startswith("@") else set()
        for line in lines:
            if line.strip().startswith("@rule:"):
                rule = rule_of(page_tags | {t.lstrip("@") for t in line.split()})
                assert rule is not None and "#" in rule.doc_url, f"{path.name}: {line.strip()}: no section anchor"


def test_the_application_rules_page_is_what_the_features_say():
    """docs/reference-application-rules.md is written from appside/features: a rule, level or sentence
    changed there and not here fails, so a partner never reads a rule the suite does not check."""
    script = ROOT / "scripts" / "application_rules_page.py"
    checked = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_application_rules_page_names_every_severity_whose_failure_makes_the_application_not_conformant():
    """The page said "A failed blocker or critical rule makes the application not conformant", while a failed
    normal-level rule (APPC-14) made it not conformant too (exit 1): the verdict counts any failed rule that is
    not warning-level. The sentence names the severity of every failure-level rule."""
    from suite.configuration.rules import WARNING, _declared

    text = " ".join((ROOT / "docs" / "reference-application-rules.md").read_text(encoding="utf-8").split())
    sentence = next(s for s in text.split(". ") if "makes the application not conformant" in s)
    declared = _declared(ROOT / "appside" / "features").values()
    severities = {rule.severity for rule in declared if rule.level != WARNING}
    assert "normal" in severities
    assert all(f"**{severity}**" in sentence for severity in severities), sentence


def test_the_callback_fault_rules_say_they_judge_an_attempted_redemption_even_when_appc10_fails():
    """APPC-16/17/18/25 need APPC-10, yet a basic-not-encoded application (every token request 401)
    has them judged on its attempted redemption (appside/matrix.py, TOKEN_NEEDED): both pages say so,
    so a partner does not read 'blocked' in `needs` and 'judged' in the report."""
    for name in ("certify-application.md", "reference-application-rules.md"):
        text = " ".join((ROOT / "docs" / name).read_text(encoding="utf-8").split())
        assert "APPC-16, APPC-17, APPC-18" in text and "APPC-25" in text, name
        assert "attempted redemption of the faulty callback's code, refused or not" in text or (
            "*attempted* to redeem the faulty callback's code, refused or not" in text
        ), name
        assert (
            "even when APPC-10 fails" in text or "a failed APPC-10 (the token request refused) does not block" in text
        )


def _guide_and_library_notes() -> str:
    """The application guide and its page of client library notes, which partners read together."""
    return "\n".join((ROOT / "docs" / name).read_text(encoding="utf-8") for name in TASK_PAGES_OF_APPLICATIONS)


TASK_PAGES_OF_APPLICATIONS = ("certify-application.md", "client-libraries.md")


def test_the_ruby_client_library_and_rack_cookie_sessions_are_documented():
    """A Sinatra app on nov's openid_connect was certified: what its partner needs is in the guide."""
    _notes_and_keys_say(
        (
            "`base64(Marshal)--hmac`",
            "`Base64::JSON`",
            "`Base64::ZipJSON`",
            "nov's openid_connect",
            "`:basic_without_www_form_urlencode`",
            "`nonce: id_token.nonce`",
            "`SWD.url_builder = URI::HTTP`",
            "pkce: false is accepted for web apps",
        ),
        "`false` is accepted for `web` applications",
    )


def _notes_and_keys_say(notes: tuple[str, ...], keys: str) -> None:
    """The guide and the library notes say each of `notes`, and the application keys' reference says `keys`."""
    text = " ".join(_guide_and_library_notes().split())
    assert [said for said in notes if said not in text] == []
    assert keys in (ROOT / "docs" / "reference-application-keys.md").read_text(encoding="utf-8")


def test_the_guide_launches_by_absolute_path_and_notes_arctic_and_simple_oauth2():
    """An outsider certifying arctic 3 and simple-oauth2 5 from the guide alone: its example's
    `launch: ./run-my-app.sh` works only inside the suite's checkout, a raw space in Basic passes (the
    list left it out), and what both libraries need to pass APPC-10 and APPC-21 was nowhere."""
    text = (ROOT / "docs" / "certify-application.md").read_text(encoding="utf-8")
    step_1 = text.split("1. **Describe the application**")[1].split("2. **Point the application")[0]
    (launch,) = [line for line in step_1.splitlines() if line.strip().startswith("launch:")]
    assert launch.split()[1].startswith("/"), launch
    assert "not this file's" in step_1
    text = " ".join((text + _guide_and_library_notes()).split())
    for said in (
        "letters, digits, a space,",
        "**arctic 3**",
        "`OAuth2Client(clientId, clientPassword, redirectURI)`",
        "`decodeIdToken` only decodes",
        "`jwtVerify`",
        "`credentialsEncodingMode: 'strict'`, its default in 5.1",
        "They do **not** get the client id or secret from the suite",
    ):
        assert said in text, said


def test_the_notes_tell_what_badgateway_oauth2_client_needs_and_the_guide_that_storage_is_not_read():
    """An outsider certifying @badgateway/oauth2-client 3.3: its default HTTP Basic escapes only ':' (APPC-10), a
    falsy expected state skips the state check (a reload redeems again), and its SPA kept tokens in localStorage,
    which no rule looks at; simple-oauth2 5.1's 'strict' is its default, not a setting to add."""
    notes = " ".join(_guide_and_library_notes().split())
    for said in (
        "**@badgateway/oauth2-client 3**",
        "`client_secret_basic_interop`, which escapes only `:`",
        "compares the callback's `state` only when the expected state passed in is truthy",
        "`credentialsEncodingMode: 'strict'`, its default in 5.1",
    ):
        assert said in notes, said
    guide = (ROOT / "docs" / "certify-application.md").read_text(encoding="utf-8")
    not_checked = guide.split("### What the suite does not check", 1)[1].split("\n## ", 1)[0]
    assert "access token in `localStorage`" in " ".join(not_checked.split())


def test_the_warning_level_rules_listed_are_the_features_warning_level_rules():
    """docs/reading-a-report.md lists the warning-level rules of both sides: one tagged @level:warning
    (or no longer) and not listed there fails, so the page never goes stale."""
    from suite.configuration.rules import warning_level_rules

    text = (ROOT / "docs" / "reading-a-report.md").read_text(encoding="utf-8")
    for side, features in (("", ROOT / "features"), ("application ", ROOT / "appside" / "features")):
        begin, end = f"<!-- {side}warning-level rules: begin -->", f"<!-- {side}warning-level rules: end -->"
        listed = text.split(begin)[1].split(end)[0]
        assert set(re.findall(r"^- ([A-Z]+-\d+):", listed, flags=re.M)) == warning_level_rules(features), side


def test_the_libraries_certified_by_partners_in_december_are_documented():
    """Eight more libraries were certified (FastAPI, Fastify, Hono, better-auth, grant, two SPA libraries):
    what made each fail or warn, and its fix, is in the library notes a partner reads."""
    text = " ".join(_guide_and_library_notes().split())
    for said in (
        '`client.token_endpoint_auth_method = "client_secret_post"`',  # httpx-oauth
        "`decodedIdTokenSchema.parse`",  # oidc-spa
        "`onSigninCallback`",  # react-oidc-context
        '`scope_delimiter: " "`',  # grant
        "`account.skipStateCookieCheck: true`",  # better-auth
        "**APPC-27 fails by design**",  # @hono/oidc-auth
        "with `discovery` it turns PKCE S256 on by itself",  # @fastify/oauth2
        "`client-secret = *VSCHAR`",
        "The signed-in marker decides what counts as signed in",
    ):
        assert said in text, said
    notes = (ROOT / "docs" / "client-libraries.md").read_text(encoding="utf-8")
    counted = re.search(r"\((\d+) notes\)", notes)
    general = notes.split("Three things hold whatever the library:", 1)[1].split("\n\n")[1].count("- **")
    assert counted and int(counted[1]) == notes.count("\n- **") - general, "the count of notes in the introduction"


def test_keycloak_js_angular_oauth2_oidc_and_auth0_spa_js_and_the_stand_ins_cors_are_documented():
    """An outside partner certified SPAs on keycloak-js 26, angular-oauth2-oidc 22 and auth0-spa-js 2: what each
    needs (or why it cannot work) is in the notes, and the CORS headers the stand-in sends in the guide."""
    text = " ".join(_guide_and_library_notes().split())
    for said in (
        "**keycloak-js 26**",
        "`credentials: 'omit'`",
        "ignoring `expires_in`",
        "`clockSkewInSec: 0`",
        "`showDebugInformation: true`",
        "without `allowedUrls`",
        "also skips the `state` check",
        "`<domain>/oauth/token`",
        "rewritten to `https://<issuer>/`",
        "never `Access-Control-Allow-Credentials`",
        "`WithOrigins(origin).AllowAnyHeader().AllowAnyMethod()`",
    ):
        assert said in text, said


def test_okta_auth_js_8_and_oidc_client_1_11_are_documented():
    """An outsider certified SPAs on @okta/okta-auth-js 8 and oidc-client 1.11: what okta-auth-js needs (its
    endpoints set by hand, the nonce compared by the application, an access token lifetime above its early
    expiry) and what each warns on is in the notes, and the lifetime in the key's reference."""
    _notes_and_keys_say(
        (
            "**@okta/okta-auth-js 8**",
            "`authorizeUrl`, `tokenUrl` and `userinfoUrl`",
            "compares `idToken.claims.nonce` with `transactionManager.load().nonce` itself",
            "`tokenManager.get('accessToken')` returns a token that has expired",
            "set `issuer.access_token_lifetime` to 35 or more",
            "exposes `OktaAuth` itself as the constructor",
            "**oidc-client 1.11**",
        ),
        "okta-auth-js 30 s, so 35",
    )


def test_the_notes_tell_what_aiohttp_oauthlib_and_lwp_authen_oauth2_need():
    """An outsider certified an aiohttp-oauthlib web application and an LWP::Authen::OAuth2 service: what each
    library did under the suite, and the set-up that passed, is in the notes a partner reads."""
    text = " ".join(_guide_and_library_notes().split())
    for said in (
        "Pass `include_client_id=True, client_secret=...` to `fetch_token`",  # aiohttp-oauthlib's Latin-1 Basic
        "Leave `force_querystring` off",
        '`create_code_challenge(verifier, "plain")` returns `None`',
        "`request_default_params => {grant_type => 'client_credentials'}`",  # LWP::Authen::OAuth2
        "`request_optional_params => [qw(scope tenant_id)]`",
    ):
        assert said in text, said


def test_the_application_matrix_table_counts_each_stacks_switches():
    """The reference applications' table in certify-application.md gives each stack's switches and their sum: the
    figures drifted when several changes added switches at once."""
    from appside.matrix import REFERENCE_APPS

    text = (ROOT / "docs" / "certify-application.md").read_text()
    for name, app in REFERENCE_APPS.items():
        row = re.search(rf"^\| `{re.escape(name)}` \|.*\| (\d+) \|$", text, re.M)
        assert row and int(row[1]) == len(app.switches), (name, row and row[0], len(app.switches))
    total = sum(len(app.switches) for app in REFERENCE_APPS.values())
    assert f"with each of its {total} switches" in text, total
