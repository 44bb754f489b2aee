"""A secret as a shell prints it when the command that prints it reads the secret's own backslashes as escapes:
`echo "secret $SECRET"` in dash (POSIX echo: XSI escapes), bash's `echo -e` and printf's %b, and printf with the
secret in its format. A secret with "\\\\" is printed with one backslash, with "\\b" with a backspace: its
literal forms (suite.secrets.literals) are all of the text as written, not as printed, so the scrubber also knows
each secret in the forms shell_printed() gives (redaction.encodings: masked in every output, and APPC-28 finds it).

Each reading below turns each escape it knows into its character and leaves any other backslash as it is, as the
shells do. "\\c" ends the output: the form is the secret's head before it, kept where it is at least `head`
characters long (a shorter head would mask ordinary text).
"""

import re

# The one-character escapes every reading knows (POSIX echo's XSI list, and \e, which dash's echo reads too; bash's
# echo -e and printf add \E)
_SINGLE = {"\\": "\\", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_BASH_SINGLE = {**_SINGLE, "E": "\x1b"}

# Each reading: its escapes (the longest first), and the one-character escapes it knows
_READINGS = (
    # POSIX (dash) echo: \0 and up to three octal digits
    (re.compile(r"\\(?:0(?P<octal>[0-7]{0,3})|(?P<stop>c)|(?P<single>[\\abefnrtv]))", re.S), _SINGLE),
    # bash's echo -e, printf %b: \0NNN, \xHH, \uHHHH, \UHHHHHHHH, \e
    (
        re.compile(
            r"\\(?:0(?P<octal>[0-7]{0,3})|x(?P<hex>[0-9A-Fa-f]{1,2})|u(?P<u4>[0-9A-Fa-f]{1,4})"
            r"|U(?P<u8>[0-9A-Fa-f]{1,8})|(?P<stop>c)|(?P<single>[\\abeEfnrtv]))",
            re.S,
        ),
        _BASH_SINGLE,
    ),
    # printf's format: \NNN (one to three octal digits), \xHH, \e, \" (bash and coreutils)
    (
        re.compile(r"\\(?:(?P<octal>[0-7]{1,3})|x(?P<hex>[0-9A-Fa-f]{1,2})|(?P<stop>c)|(?P<single>[\\abeEfnrtv\"]))"),
        {**_BASH_SINGLE, '"': '"'},
    ),
)


def shell_printed(value: str, head: int) -> set[str]:
    """`value` as each reading prints it, other than `value` itself; none for a value without a backslash."""
    if "\\" not in value:
        return set()
    forms = set()
    for escape, singles in _READINGS:
        printed, stopped = _printed(value, escape, singles)
        if len(printed) >= head or not stopped:
            forms.add(printed)
    return forms - {value}


def _printed(value: str, escape: re.Pattern, singles: dict[str, str]) -> tuple[str, bool]:
    """What the reading prints of `value`, and whether a \\c stopped it there."""
    pieces, position = [], 0
    for match in escape.finditer(value):
        pieces.append(value[position : match.start()])
        if match["stop"]:  # nothing after \\c is printed
            return "".join(pieces), True
        pieces.append(_character(match, singles))
        position = match.end()
    return "".join(pieces) + value[position:], False


def _character(match: re.Match[str], singles: dict[str, str]) -> str:
    groups = match.groupdict()
    if groups.get("octal") is not None:
        return chr(int(groups["octal"] or "0", 8) & 0xFF)  # a byte: \0400 is \000 to the shells
    for key in ("hex", "u4", "u8"):
        if groups.get(key) is not None:
            code = int(groups[key], 16)
            return chr(code) if code <= 0x10FFFF else match.group()
    return singles[groups["single"]]
