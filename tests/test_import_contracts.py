"""The house's import contracts (pyproject.toml, `make lint`): they hold on this tree, and each one
fails on a deliberate bad import, in a copy of the tree."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["core", "cheershare", "accounts", "messaging", "tokens", "events"]
LINT = str(Path(sys.executable).parent / "lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout
    assert "5 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, bad_import, contract",
    [
        ("core/breaker.py", "import accounts.limits", "core imports no app and not the wiring"),
        ("tokens/grants.py", "import cheershare.urls", "no app imports the wiring package"),
        ("messaging/records.py", "import accounts.models", "messaging imports neither accounts nor tokens"),
        ("tokens/refresh.py", "import accounts.otp", "tokens imports no accounts services or views"),
        ("accounts/otp.py", "import events.outbox", "events is imported by no app"),
    ],
)
def test_each_contract_fails_on_a_bad_import(tree, module, bad_import, contract):
    path = tree / module
    original = path.read_text()
    path.write_text(original + f"\n{bad_import}  # a deliberate bad import\n")
    try:
        result = lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
