"""Secrets: the scrubber that keeps every secret the suite learns out of everything it writes. The
bottom part: every other part may use it, it uses none."""
