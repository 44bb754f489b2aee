"""Each conftest's pytest_plugins lists a module after the listed modules it imports: pytest rewrites a
plugin's asserts as it registers it, and one another plugin already imported is left as it was, with a
PytestAssertRewriteWarning printed at every run ("Module already imported so cannot be rewritten")."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFTESTS = ("conftest.py", "appside/conftest.py")


def _plugins(conftest: Path) -> list[str]:
    for node in ast.parse(conftest.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets):
            return [ast.literal_eval(element) for element in node.value.elts]  # type: ignore[attr-defined]
    return []


def _imported(module: str) -> set[str]:
    """The modules `module` imports at its top level (where it is loaded, before it is registered)."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("conftest", CONFTESTS)
def test_a_plugin_comes_after_the_plugins_it_imports(conftest):
    plugins = _plugins(ROOT / conftest)
    assert plugins
    late = [
        f"{plugin} imports {other}, listed after it"
        for number, plugin in enumerate(plugins)
        for other in _imported(plugin) & set(plugins[number + 1 :])
    ]
    assert not late, late
