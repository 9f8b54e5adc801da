"""The installed package finds its built-in policies and schemas; the pinned stack imports."""

import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def test_wheel_carries_policies_and_schemas(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("gavel_governance-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "engine/_bundled/schemas/model-card.schema.json" in names
    assert "engine/_bundled/schemas/report.schema.json" in names
    assert any(n.startswith("engine/_bundled/policies/") for n in names)
    # Outside the checkout, the unpacked wheel resolves data inside the package, not the repo.
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = subprocess.run(
        [sys.executable, "-c", "from engine.resources import data_dir; print(data_dir('schemas'), data_dir('policies'))"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
    )
    assert probe.returncode == 0, probe.stderr
    schemas_dir, policies_dir = probe.stdout.split()
    assert schemas_dir == str(unpacked / "engine/_bundled/schemas")
    assert policies_dir == str(unpacked / "engine/_bundled/policies")


def test_diffprivlib_imports_with_the_pinned_scikit_learn():
    from diffprivlib.accountant import BudgetAccountant

    acc = BudgetAccountant(epsilon=1.0, delta=0.0)
    acc.spend(0.4, 0.0)
    assert abs(acc.remaining()[0] - 0.6) < 1e-9


def test_gavel_check_does_not_import_heavy_modules_it_does_not_need():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom engine.cli import main\n"
            f"r = CliRunner().invoke(main, ['check', r'{ROOT / 'tests/fixtures/minimal'}'])\n"
            "assert r.exit_code == 0 and 'pass: 2  fail: 0' in r.stdout, r.stdout\n"
            "print(' '.join(m for m in ('diffprivlib', 'sklearn', 'networkx', 'sqlglot', 'pydantic', 'pandas', 'mlflow',"
            " 'great_expectations', 'evidently', 'fairlearn', 'prometheus_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
