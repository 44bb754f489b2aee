"""The scrubber (suite.secrets.redaction), given a secret as it is, must mask it in the string-literal escape forms
programs print it in: Perl's Data::Dumper with Useqq printed a Net::OAuth2 service's secret as
"...\\x{e9}\\x{20ac}..." and it stood in clear in allure-results and the HTML report. The scrubber derives these
forms from the plain value (suite.secrets.literals.escaped_forms), for every secret of both sides."""

import pytest

from suite.secrets.redaction import Redactor

SECRET = "Pb1 +%41:x\"y'z\\\u00e9\u20ac-perl-7q2w"  # space, quotes, backslash, é (U+00E9), € (U+20AC)
ASCII_SECRET = "Pa1 $x@y\"q'z\\w-ascii"

# the secret's line as each program printed it: what the scrubber must also know
LEAKING = {
    # Perl: Data::Dumper with Useqq (\x{..} for every non-ASCII character, \" \\ \$ \@), qq's \N{U+..}
    "perl \\x{..}": (SECRET, "'client_secret' => \"Pb1 +%41:x\\\"y'z\\\\\\x{e9}\\x{20ac}-perl-7q2w\","),
    "perl \\N{U+..}": (SECRET, 'secret="Pb1 +%41:x\\"y\'z\\\\\\N{U+E9}\\N{U+20AC}-perl-7q2w"'),
    "perl octal bytes": (SECRET, '"client_secret" => "Pb1 +%41:x\\"y\'z\\\\\\303\\251\\342\\202\\254-perl-7q2w"'),
    "perl \\$ \\@ (ASCII)": (ASCII_SECRET, '"s" => "Pa1 \\$x\\@y\\"q\'z\\\\w-ascii"'),
    # Python and C: \xHH (a code point, or UTF-8 bytes) and \U........ in a "..." literal with \"
    'python \\xe9 in "..."': (SECRET, 'secret = "Pb1 +%41:x\\"y\'z\\\\\\xe9\\u20ac-perl-7q2w"'),
    "python \\U........": (SECRET, 'secret = "Pb1 +%41:x\\"y\'z\\\\\\U000000e9\\U000020ac-perl-7q2w"'),
    "C \\xHH UTF-8 bytes": (SECRET, 'char *s = "Pb1 +%41:x\\"y\'z\\\\\\xc3\\xa9\\xe2\\x82\\xac-perl-7q2w";'),
    # JSON / JavaScript: \u00e9 in a '...' literal with \', and ES6's \u{..}
    "\\u00e9 in '...'": (SECRET, "{'secret': 'Pb1 +%41:x\"y\\'z\\\\\\u00e9\\u20ac-perl-7q2w'}"),
    "javascript \\u{..}": (SECRET, 'secret: "Pb1 +%41:x\\"y\'z\\\\\\u{e9}\\u{20ac}-perl-7q2w"'),
}


@pytest.mark.parametrize("secret, printed", LEAKING.values(), ids=LEAKING.keys())
def test_the_scrubber_masks_a_secret_printed_in_a_string_literal(secret, printed):
    redactor = Redactor()
    redactor.register(secret, "client_secret")
    scrubbed = redactor.scrub(printed)
    assert secret[-6:] in printed and secret[-6:] not in scrubbed, scrubbed  # its plain tail, masked with the rest
