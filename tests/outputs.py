"""What the secret tests read: everything a run left for people (its terminal and every file in its
reports folder), and the secrets found there."""

from pathlib import Path


def every_output(terminal: str, reports: Path, base: Path) -> dict[str, str]:
    """The terminal, and each file under `reports` as text, named by its path relative to `base`;
    PDFs are left out (their text is compressed: what they show is in the HTML they are printed from)."""
    outputs = {"terminal": terminal}
    outputs.update(
        {
            str(p.relative_to(base)): p.read_text(encoding="utf-8", errors="replace")
            for p in reports.rglob("*")
            if p.is_file() and p.suffix != ".pdf"
        }
    )
    return outputs


def leaked(outputs: dict[str, str], secrets: set[str], shown: int = 6) -> list[tuple[str, str]]:
    """(output, the secret's first `shown` characters) for each secret found in an output: whole, or
    the head or tail of a long one (pytest cuts long values in the middle)."""
    fragments = {secret: {secret, secret[:16], secret[-16:]} if len(secret) >= 32 else {secret} for secret in secrets}
    return [
        (name, secret[:shown] + "...")
        for name, content in outputs.items()
        for secret, parts in fragments.items()
        if any(part in content for part in parts)
    ]
