"""The layout is the architecture: imports run only downwards, between the project's parts and
between the parts of suite/ (docs/architecture.md draws the same arrows in words).

A wrong-way import fails here with the importing file, its line and the arrow it breaks."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# suite/'s parts, bottom first: a part may import itself and the parts listed before it.
SUITE_LAYERS = ("secrets", "configuration", "verdict", "wire", "reports", "matrix", "run")

# The project's parts and what each may import. The sandbox knows nothing of the suite; the suite
# uses the sandbox only to start it (wire.embedded_sandbox) and to read its defect switches (matrix).
PROJECT_ALLOWED = {
    "sandbox": {"sandbox"},
    "suite": {"suite", "sandbox"},
    "steps": {"steps", "suite"},
    "appside": {"appside", "suite", "sandbox"},
}
SUITE_USES_SANDBOX = {"suite.wire.embedded_sandbox", "suite.matrix.detection", "suite.matrix.defect_matrix"}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str):
    """(line, imported module) for every import of a project module, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in ("suite", "sandbox", "steps", "appside"):
                yield node.lineno, target
            if target in ("suite", "sandbox", "steps", "appside"):  # `from suite import wire`
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"


def _suite_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "suite" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in SUITE_LAYERS else None


def wrong_way_imports(root: Path = ROOT) -> list[str]:
    found = []
    for part, allowed in PROJECT_ALLOWED.items():
        for path in sorted((root / part).rglob("*.py")):
            module = _module_name(path, root)
            for line, target in _imports(path, module):
                top = target.split(".")[0]
                where = f"{path.relative_to(root)}:{line} imports {target}"
                if top in PROJECT_ALLOWED and top not in allowed:
                    found.append(f"{where}: {part} may not import {top}")
                elif part == "suite" and top == "sandbox" and module not in SUITE_USES_SANDBOX:
                    found.append(f"{where}: only {', '.join(sorted(SUITE_USES_SANDBOX))} may use the sandbox")
                elif part == "suite":
                    mine, theirs = _suite_layer(module), _suite_layer(target)
                    if mine and theirs and SUITE_LAYERS.index(theirs) > SUITE_LAYERS.index(mine):
                        found.append(f"{where}: suite.{mine} is below suite.{theirs}")
    return list(dict.fromkeys(found))


def test_every_suite_module_sits_in_a_part():
    loose = [p.name for p in (ROOT / "suite").glob("*.py") if p.name not in ("__init__.py", "run.py")]
    assert loose == [], "a module of suite/ belongs in one of its parts: " + ", ".join(SUITE_LAYERS)
    assert {p.name for p in (ROOT / "suite").iterdir() if p.is_dir() and p.name != "__pycache__"} == set(
        SUITE_LAYERS
    ) - {"run"}


@pytest.mark.parametrize("part", [*SUITE_LAYERS[:-1]])
def test_every_part_says_what_it_is_for(part):
    doc = ast.get_docstring(ast.parse((ROOT / "suite" / part / "__init__.py").read_text()))
    assert doc and doc.startswith(part.capitalize()), f"suite/{part}/__init__.py opens with what the part is for"


def test_imports_run_only_downwards():
    assert wrong_way_imports() == []


def test_a_wrong_way_import_is_found(tmp_path):
    """The check can fail: a verdict module that imports the reports, and a sandbox module that
    imports the suite, planted in a copy of the tree."""
    planted = tmp_path
    (planted / "suite" / "verdict").mkdir(parents=True)
    (planted / "suite" / "verdict" / "upwards.py").write_text("from suite.reports.results import STATUSES\n")
    (planted / "sandbox").mkdir()
    (planted / "sandbox" / "upwards.py").write_text("import suite.wire.http\n")
    found = wrong_way_imports(planted)
    assert found == [
        "sandbox/upwards.py:1 imports suite.wire.http: sandbox may not import suite",
        "suite/verdict/upwards.py:1 imports suite.reports.results: suite.verdict is below suite.reports",
    ]


if __name__ == "__main__":  # `make lint`: the same check, without pytest
    import sys

    wrong = wrong_way_imports()
    print("\n".join(wrong) or "imports run only downwards")
    sys.exit(1 if wrong else 0)
