"""The YAML files a person writes for the suite (environment files, and the application files of
appside.application): read with limits, checked against a JSON Schema, every problem said in one line
that names the file, the key and the fix, and ${VAR} references filled in from the environment.

Also the schema pieces both kinds of file share, so that a client_id or a scope is checked alike."""

import difflib
import math
import re
import stat
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import jsonschema
import yaml

from suite.secrets.redaction import MIN_SECRET_LENGTH, Redactor, mask_userinfo

MAX_FILE_BYTES = 256 * 1024  # the environment template, fully filled in, is under 10 KB
MAX_NODES = 20_000  # values in a file after YAML aliases are expanded
MAX_SHOWN = 60  # characters of a value quoted in a message

_NAME = "[A-Za-z_][A-Za-z0-9_]*"
VARIABLE = re.compile(rf"\$\{{({_NAME})\}}")  # ${VAR}: filled in by resolve_variables
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0 and C1 controls: in an identifier or URL, a mistake
DEFAULTED = re.compile(rf"\$\{{({_NAME}):-([^}}]*)\}}")  # ${VAR:-default}, where a file kind allows it

# Schema pieces
STRING = {"type": "string", "minLength": 1}
SCOPE = {"type": "string", "pattern": "^\\S+( \\S+)*$"}  # space-separated, as OAuth's scope parameter
VARIABLE_PATTERN = f"\\$\\{{{_NAME}\\}}"  # a ${VAR} reference, checked again once resolved
DEFAULTED_PATTERN = f"\\$\\{{{_NAME}(:-[^}}]*)?\\}}"  # ${VAR} or ${VAR:-default}


class ConfigurationError(Exception):
    """The file cannot be used; `problems` are one line each."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{display_path(path)}: {p}" for p in problems))


def display_path(path: Path | str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, RuntimeError, OSError):  # outside the working folder; a symlink loop
        return str(path)


def read_mapping(path: Path, kind: str, missing: str, example: str) -> dict:
    """The file as data, or one problem: missing (`missing` says what to do), unreadable, too big,
    not UTF-8, not YAML, duplicate keys, aliases that expand past MAX_NODES, numbers that are not
    finite, not a mapping (`example` is a file to copy). `kind`: "environment", "application"."""
    try:
        status = path.stat()  # of the file a symlink points to
    except FileNotFoundError:
        raise ConfigurationError(path, [missing]) from None
    except OSError as error:  # a symlink loop (ELOOP), a folder on the way not searchable
        raise ConfigurationError(
            path, [f"cannot be read ({error.strerror or error}). Check the path and its symlinks"]
        ) from None
    if not stat.S_ISREG(status.st_mode):  # a FIFO would block the read forever, /dev/zero never end
        raise ConfigurationError(path, [f"not a regular file ({_kind_of(status.st_mode)}). Give the {kind} file"])
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigurationError(
            path, [f"cannot be read ({error.strerror or error}). Check the path and the file's permissions"]
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigurationError(path, [f"larger than {MAX_FILE_BYTES // 1024} KB: not an {kind} file"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigurationError(path, [f"not UTF-8 text (byte {error.start}). Save the file as UTF-8"]) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        raise ConfigurationError(path, [_yaml_problem(text, error)]) from None
    if not isinstance(raw, dict):
        raise ConfigurationError(path, [f"the file must be a YAML mapping (key: value lines); see {example}"])
    return raw


def _yaml_problem(text: str, error: yaml.YAMLError) -> str:
    """PyYAML's error as one line with where it is and what to do: its own words for a tab ("found
    character '\\t' that cannot start any token") and for a character no YAML may hold (a NUL byte: three
    lines, "in <unicode string>, position 7", no line) said so a person can act on them."""
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        code = f"U+{error.character:04X}" if isinstance(error.character, int) else repr(error.character)
        what = "a NUL byte (U+0000)" if error.character == 0 else f"the control character {code}"
        return (
            f"not valid YAML at line {line}, column {column}: {what}, which a YAML file cannot hold. "
            "Remove it (was the file saved as UTF-16, or is it not text?)"
        )
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = str(getattr(error, "problem", None) or error)
    if "'\\t'" in problem:
        problem = "a tab, which YAML does not allow there (it indents with spaces only). Replace the tab with spaces"
    what = "refused" if isinstance(error, _Refused) else "not valid YAML"
    return f"{what}{where}: {shorten(problem, 200)}"


def _kind_of(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a file")


class _Refused(yaml.constructor.ConstructorError):
    """Valid YAML that a file for the suite must not contain."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses what would silently change the meaning or blow up:
    a key given twice (the last would win), aliases that expand past MAX_NODES values, .nan and .inf,
    dates that do not exist."""

    def construct_document(self, node: yaml.Node) -> Any:
        _count_nodes(node, {})
        try:
            return super().construct_document(node)
        except _Refused as refused:  # a value refused where it stands: say under which key (waivers[0].expires)
            key = _key_at(node, refused.problem_mark) if refused.problem_mark else ""
            refused.problem = f"{key}: {refused.problem}" if key else refused.problem
            raise

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                raise _Refused(
                    None,
                    None,
                    f"the key {cut(key)} is given twice (one would silently replace the other)",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _Refused(None, None, f"{shorten(node.value)} is not a finite number", node.start_mark)
        return value

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as error:  # 2027-02-30: a date that does not exist
            raise _Refused(None, None, f"{shorten(node.value)} is not a date ({error})", node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def _key_at(node: yaml.Node, mark: yaml.error.Mark, where: str = "") -> str:
    """The key of the value that starts at `mark` under `node` (clients.web.client_id, waivers[0].expires),
    "" where none does (a key itself, the document)."""
    if isinstance(node, yaml.MappingNode):
        pairs = [(f"{where}.{k.value}" if where else str(k.value), v) for k, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        pairs = [(f"{where}[{index}]", v) for index, v in enumerate(node.value)]
    else:
        return ""
    for key, value in pairs:
        if value.start_mark.index == mark.index and isinstance(value, yaml.ScalarNode):
            return key
        if value.start_mark.index <= mark.index < value.end_mark.index:
            return _key_at(value, mark, key)
    return ""


def _count_nodes(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values `node` stands for once every alias is expanded; each distinct node is
    counted once (memoised), so a deep alias bomb is measured without being expanded."""
    if id(node) in sizes:
        size = sizes[id(node)]
    else:
        sizes[id(node)] = 1  # a node reached again while being counted: a recursive alias
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else (node.value if isinstance(node, yaml.SequenceNode) else [])
        )
        size = 1 + sum(_count_nodes(child, sizes) for child in children)
        sizes[id(node)] = size
    if size > MAX_NODES:
        raise _Refused(
            None, None, f"more than {MAX_NODES} values once its aliases (*name) are expanded", node.start_mark
        )
    return size


def schema_errors(raw: object, schema: dict) -> list[jsonschema.ValidationError]:
    """Every way `raw` breaks `schema`, in the order of the keys they concern."""
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.path)))


def describe_each(
    error: jsonschema.ValidationError, hints: Mapping[str, str], secret_keys: Collection[str]
) -> list[str]:
    """describe(), one line per unknown key where a mapping has several (a file with two typos names
    both at once), each with the allowed key it is closest to, if one is close."""
    if error.validator != "additionalProperties":
        return [describe(error, hints, secret_keys)]
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    allowed = sorted(cast(dict, error.schema).get("properties", {}))  # a schema of an object here
    unknown = sorted(map(str, set(cast(dict, error.instance)) - set(allowed)))
    lines = []
    for name in unknown:
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        mean = f" Did you mean {close[0]}?" if close else ""
        lines.append(f"{join_key(key, shorten(name))}: unknown key.{mean} Allowed here: {', '.join(allowed)}")
    return lines


def describe(error: jsonschema.ValidationError, hints: Mapping[str, str], secret_keys: Collection[str]) -> str:
    """One schema error as one line: the key, what is wrong, what was found (never a secret's
    value: the keys in `secret_keys`), and what to write (`hints`, by key). Unknown keys are
    describe_each's: a line for each."""
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        hint = hints.get(missing, "")
        return f"{join_key(key, missing)}: missing. Add it{': ' + hint if hint else ''}"
    leaf = str(error.absolute_path[-1]) if error.absolute_path else ""
    hint = hints.get(leaf, "")
    bound = error.validator_value
    expected = {
        "type": f"must be of type {bound}",
        "enum": f"must be one of {', '.join(map(str, bound)) if isinstance(bound, list) else bound}",
        "pattern": "has the wrong form",
        "minLength": "must not be empty",
        "minimum": f"must be at least {bound}",
        "exclusiveMinimum": f"must be more than {bound}",
        "maximum": f"must be at most {bound}",
        "minProperties": "must not be empty",
        "maxItems": f"must have at most {bound} entries",
        "minItems": f"must have at least {bound} entries",
    }.get(str(error.validator), "is not allowed here")
    found = (
        "found a value of type " + type(error.instance).__name__
        if leaf in secret_keys
        else f"found {cut(error.instance)}"
    )  # never print a secret, whatever its type
    return f"{key}: {expected} ({found}){'. Write ' + hint if hint else ''}"


def url_problems(key: str, url: str) -> list[str]:
    """What makes a URL key unusable, one line naming `key`: a user:password part (never echoed: a
    password there would be printed and written into the reports), what urllib cannot parse (an
    unclosed IPv6 bracket, a port that is no number or out of range), port 0 (nothing can be
    connected to it), no host. The URL is quoted with its userinfo masked."""
    shown = cut(mask_userinfo(url))
    try:
        parts = urlsplit(url)
        port = parts.port  # read for its ValueError: a port that is not a number, or out of range
        host = parts.hostname
    except ValueError as error:
        if "@" in url.split("?")[0].split("#")[0]:
            return [f"{key}: has a user:password@ part; remove the user:password part (and the @) from the URL"]
        return [f"{key}: not a usable URL ({error}): {shown}"]
    if parts.username is not None or parts.password is not None:
        return [
            f"{key}: has a user:password@ part; remove the user:password part (and the @) from the URL: "
            "the suite sends credentials only as the client's, and would print and record this one"
        ]
    if not host:
        return [f"{key}: has no host: {shown}"]
    if port == 0:
        return [f"{key}: port 0 cannot be connected to; write the port the server listens on: {shown}"]
    return []


def resolve_variables(
    node: Any, environ: Mapping[str, str], problems: list[str], where: str = "", secret_keys: Collection[str] = ()
) -> Any:
    """`node` with each ${VAR} in its strings replaced by the variable's value; a variable that is
    not set (or empty), or that holds a control character (a newline: `export X="$(cat file)"`) in a
    key that is not one of `secret_keys` (a secret may hold anything; an identifier or a URL cannot),
    is a problem added to `problems`, naming the key it stands in and the variable, never its value."""
    if isinstance(node, dict):
        return {k: resolve_variables(v, environ, problems, f"{where}{k}.", secret_keys) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_variables(v, environ, problems, where, secret_keys) for v in node]
    if not isinstance(node, str):
        return node
    key = where.rstrip(".")

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if not environ.get(name):
            problems.append(
                f"{key}: environment variable {name} is empty (set to nothing: a CI secret not given to this job, "
                f"or masked to nothing?). Give it its value (export {name}=...) before running the suite"
                if name in environ
                else f"{key}: environment variable {name} is not set. Export it (export {name}=...) before running "
                "the suite"
            )
            return ""
        value = environ[name]
        if key.rsplit(".", 1)[-1] not in secret_keys and _CONTROL.search(value):
            problems.append(
                f"{key}: environment variable {name} holds a control character (a newline, a tab...); "
                f"{key.rsplit('.', 1)[-1]} cannot. Export it without one (a trailing newline of $(cat FILE)?)"
            )
        return value

    return VARIABLE.sub(substitute, node)


# what an unset ${VAR} stands for while the values' other problems are looked for (every_problem)
PLACEHOLDER = "unset-variable"


class _WithPlaceholders(dict):
    """The environment, with PLACEHOLDER for each variable that is not set (or empty)."""

    def get(self, name: str, default: object = None) -> str:
        return super().get(name) or PLACEHOLDER

    def __missing__(self, name: str) -> str:
        return PLACEHOLDER


def every_problem(
    raw: dict,
    environ: Mapping[str, str],
    problems: list[str],
    schema_problems: Callable[[dict], list[str]],
    meaning_problems: Callable[[dict], list[str]],
    secret_keys: Collection[str],
    carriers: Collection[str] = (),
) -> tuple[dict, list[str]]:
    """(the file with each ${VAR} filled in, every problem of it at once where they are independent): those
    found so far (`problems`: an inline secret), each unset variable, each key that holds a secret
    (secret_bearers; `carriers` may), the values' problems once filled in (`schema_problems`), and what the
    schema cannot say (`meaning_problems`, which reads only values of the right form, so only when there are
    none of those). An unset variable stands in as PLACEHOLDER meanwhile, and a key whose variable is unset,
    or that holds a secret, has no other line: its own says what to do (and quotes no value). Before, each
    kind waited for the one before it to be fixed: fix one, run, see the next."""
    unresolved: list[str] = []
    resolved = resolve_variables(raw, environ, unresolved, secret_keys=secret_keys)
    bearers = secret_bearers(raw, resolved, secret_keys, carriers)
    unset = {line.split(":", 1)[0] for line in unresolved}
    filled = resolve_variables(raw, _WithPlaceholders(environ), [], secret_keys=secret_keys) if unset else resolved

    def own(line: str) -> bool:
        return not any(_within(line.split(":", 1)[0], key) for key in (*unset, *bearers))

    wrong_form = schema_problems(filled)
    problems = [
        *problems,
        *unresolved,
        *bearers.values(),
        *(f"{p} (after ${{VAR}} substitution)" for p in wrong_form if own(p)),
    ]
    if not wrong_form:
        problems += [p for p in meaning_problems(filled) if own(p)]
    return resolved, problems


def _within(key: str, outer: str) -> bool:
    """Whether `key` is `outer` or under it, a list's item written either way (redirect_uris[0], redirect_uris.0)."""
    key, outer = (re.sub(r"\[(\d+)\]", r".\1", name) for name in (key, outer))
    return key == outer or key.startswith(f"{outer}.")


class FileSecrets:
    """The values a file's secret keys hold (their ${VAR}s filled in), known as soon as the file is read and
    before any of its problems is looked for, so that no problem line shows one, whatever key it was copied
    to and however it is quoted there: the line says whose value it is instead. Masked by a redactor of their
    own: the run registers them in its REDACTOR once the file is accepted (conftest.py), and a file read to
    be checked changes nothing else."""

    def __init__(self, raw: dict, environ: Mapping[str, str], secret_keys: Collection[str], schema: dict) -> None:
        self._redactor = Redactor()
        self._key_names = _key_names(schema)
        resolved = resolve_variables(raw, environ, [], secret_keys=secret_keys)
        secrets = _secrets(resolved, secret_keys)
        for value, key in secrets.items():
            self._redactor.register(value, key)
        # those the redactor does not mask (MIN_SECRET_LENGTH): refusal masks them where they stand as a word
        self._short = {value: key for value, key in secrets.items() if len(value) < MIN_SECRET_LENGTH}

    def too_short(self) -> list[str]:
        """A line for each secret shorter than MIN_SECRET_LENGTH: the run masks secrets in everything it writes only
        from that length on (a shorter one would mask ordinary words), so a shorter one would be shown, in a command
        that carries it (drive.launch, drive.command) or wherever the server or the application echoes it."""
        return [
            f"{key}: shorter than {MIN_SECRET_LENGTH} characters. The suite masks a secret in everything it writes "
            f"only from {MIN_SECRET_LENGTH} characters on, and would show this one: give it a longer secret"
            for key in dict.fromkeys(self._short.values())
        ]

    def refusal(self, path: Path | str, problems: list[str]) -> ConfigurationError:
        """The file's ConfigurationError, its lines masked: a value quoted whole says `the value of KEY`, and a secret
        too short for the redactor is masked where it stands as a word of its own."""
        keys = set(self._redactor.known().values()) | set(self._short.values())
        masked = []
        for line in map(self._redactor.scrub, problems):
            # the key a line begins with: a name of the schema's stays (a secret `drive` left drive.launch unreadable),
            # any other (a key the file named by the secret) is masked; after its colon, every value is
            named, colon, rest = line.partition(": ")
            if not colon or not re.fullmatch(r"[\w.\[\]-]+", named):
                named, colon, rest = "", "", line  # no key first: the whole line is what it says
            segments = re.split(r"([.\[\]])", named)
            line = "".join(n if n in self._key_names else self._mask_short(n) for n in segments)
            line += colon + self._mask_short(rest)
            for key in keys:
                line = line.replace(f"'[{key}]'", f"the value of {key}")
            masked.append(line)
        return ConfigurationError(path, masked)

    def _mask_short(self, text: str) -> str:
        """`text` with each secret too short for the redactor masked where it stands as a word of its own."""
        for value, key in self._short.items():
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", f"[{key}]", text)
        return text


def _key_names(node: object) -> frozenset[str]:
    """Every key name a schema defines, at any depth."""
    if isinstance(node, list):
        return frozenset().union(*map(_key_names, node))
    if not isinstance(node, dict):
        return frozenset()
    properties = node.get("properties")
    own = frozenset(properties) if isinstance(properties, dict) else frozenset()
    return own.union(*map(_key_names, node.values()))


def secret_bearers(
    raw: dict, resolved: dict, secret_keys: Collection[str], carriers: Collection[str]
) -> dict[str, str]:
    """{key: its one problem} for each key but the secret ones and `carriers` (a command that hands the
    application its secret) that takes a ${VAR} filling a secret key too, or holds a secret key's value: a
    client_id, a name, a URL or a port is printed, recorded and sent as it is, so a secret there would be
    shown everywhere (an application named by its secret was, in 141 places of one run's reports). The line
    names both keys, never the value."""
    secrets = _secrets(resolved, secret_keys)
    variables = {
        name: key
        for key, written in _leaves(raw)
        if _is_secret(key, secret_keys) and isinstance(written, str)
        for name in VARIABLE.findall(written)
    }
    bearers = {}
    for (key, written), (_, value) in zip(_leaves(raw), _leaves(resolved), strict=True):
        if _is_secret(key, secret_keys) or key in carriers or not isinstance(value, str):
            continue
        taken = [name for name in VARIABLE.findall(str(written)) if name in variables]
        # a secret that has another in it is the one held: the longest
        held = sorted((secret for secret in secrets if _holds(value, secret)), key=len, reverse=True)
        if taken or held:
            secret_key = variables[taken[0]] if taken else secrets[held[0]]
            source = f" (${{{taken[0]}}} fills both)" if taken else ""
            bearers[key] = (
                f"{key}: holds the value of {secret_key}{source}. Only {secret_key} is kept secret; {key} is sent "
                "and shown as written. Give it its own value, and the secret to the secret's key alone"
            )
    return bearers


def _holds(value: str, secret: str) -> bool:
    """`value` is `secret`, or has it in it where it is long enough not to be an ordinary word (MIN_SECRET_LENGTH)."""
    return value == secret or (len(secret) >= MIN_SECRET_LENGTH and secret in value)


def _secrets(resolved: object, secret_keys: Collection[str]) -> dict[str, str]:
    """{value: its key} for each secret key with a value, the first key where two share one."""
    found: dict[str, str] = {}
    for key, value in _leaves(resolved):
        if _is_secret(key, secret_keys) and isinstance(value, str) and value:
            found.setdefault(value, key)
    return found


def _is_secret(key: str, secret_keys: Collection[str]) -> bool:
    return key.rsplit(".", 1)[-1] in secret_keys


def _leaves(node: object, where: str = "") -> Iterator[tuple[str, object]]:
    """(dotted key, value) for each value in `node` that is no mapping or list, a list's items as key[0]."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, f"{where}[{index}]")
    else:
        yield where, node


def cut(value: object) -> str:
    """A value as quoted in a message: its repr, at most MAX_SHOWN characters."""
    return shorten(repr(value))


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def join_key(prefix: str, key: str) -> str:
    """A key's dotted name under `prefix` (as describe names keys)."""
    return key if prefix == "(top level)" else f"{prefix}.{key}"
