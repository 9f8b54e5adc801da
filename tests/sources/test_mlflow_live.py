"""A live MLflow registry as evidence: a real ``mlflow server`` (SQLite backend) started here on
127.0.0.1 and populated through MLflow's own client, then read by ``gavel check``. Skips, saying
why, where the ``mlflow`` package (the server) is not installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

NOW = "2026-12-04T00:00:00Z"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    pytest.importorskip("mlflow.server", reason="the mlflow package (its server) is in the test extras")
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination",
               str(root / "artifacts"), "--workers", "1"]
    # the server starts uvicorn from the environment's bin folder
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=root, env=env,
                            start_new_session=True)
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("mlflow server did not start in 60 s")
        populate(MlflowClient(tracking_uri=url, registry_uri=url))
        yield url
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGTERM)  # the server and its uvicorn worker
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def populate(client) -> None:
    """Two registered models: credit-scorer with versions 1 (old), 2 (alias champion) and 3 (latest);
    churn with one version and no gavel tags (its card is incomplete)."""
    experiment = client.create_experiment("credit")
    runs = []
    for auc in (0.71, 0.83, 0.86):
        run = client.create_run(experiment)
        client.log_metric(run.info.run_id, "auc", auc)
        client.log_metric(run.info.run_id, "fairness.demographic_parity_difference", 0.04)
        client.log_param(run.info.run_id, "max_depth", "6")
        client.set_terminated(run.info.run_id)
        runs.append(run.info.run_id)
    client.create_registered_model("credit-scorer", tags={
        "gavel.owner": "risk-ml", "gavel.risk_level": "high", "gavel.use_case": "credit-scoring",
    }, description="Scores credit applications.")
    for run_id in runs:
        client.create_model_version("credit-scorer", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("credit-scorer", "champion", "2")
    client.set_model_version_tag("credit-scorer", "2", "gavel.lifecycle_stage", "production")
    client.set_model_version_tag("credit-scorer", "3", "gavel.lifecycle_stage", "staging")
    client.create_registered_model("churn")
    client.create_model_version("churn", f"runs:/{runs[0]}/model", run_id=runs[0])


def project_for(project, url: str, models: list[str] | None = None) -> object:
    entry = {"source": "mlflow", "tracking_uri": url, "timeout": 5}
    if models is not None:
        entry["models"] = models
    return project({}, config=f"""\
        evidence:
          - {json.dumps(entry)}
        policies: {{packs: [model-card]}}
    """)


def findings(gavel, root) -> tuple[list[dict], object]:
    result = gavel("check", root, "--now", NOW, "-o", "json")
    return json.loads(result.stdout)["findings"], result


def test_versions_in_use_become_cards(gavel, project, registry):
    found, _ = findings(gavel, project_for(project, registry, ["credit-*"]))
    subjects = {f["subject"]["id"]: f["subject"]["source"]["file"] for f in found if f["subject"]["kind"] == "model"}
    # version 1 is neither aliased, staged nor latest: not in use
    assert subjects == {"credit-scorer:v2": f"{registry}#credit-scorer/2",
                        "credit-scorer:v3": f"{registry}#credit-scorer/3"}


def test_card_fields_come_from_the_registry(gavel, project, registry):
    root = project_for(project, registry, ["credit-scorer"])
    result = gavel("input", "credit-scorer:v2", "-p", root, "--now", NOW)
    if result.exit_code != 0:  # `gavel input` may not exist in this build: read the card through the API
        from engine.config import load_config
        from engine.inventory import build_inventory

        card = build_inventory(load_config(root), now=NOW).models["credit-scorer:v2"].data
    else:
        card = json.loads(result.stdout)["subject"]
    assert card["owner"] == "risk-ml" and card["risk_level"] == "high"
    assert card["lifecycle_stage"] == "production" and card["version"] == "2"
    assert {"name": "auc", "value": 0.83} in card["metrics"]["performance"]
    assert card["metrics"]["fairness"][0]["name"] == "demographic_parity_difference"


def test_incomplete_registry_model_is_an_error_naming_its_uri(gavel, project, registry):
    found, result = findings(gavel, project_for(project, registry))
    errors = [f for f in found if f["status"] == "error"]
    assert [e["subject"]["source"]["file"] for e in errors] == [f"{registry}#churn/1"]
    assert "MLflow model lacks" in errors[0]["message"]
    assert result.exit_code == 1


def test_no_matching_model_is_an_error(gavel, project, registry):
    found, result = findings(gavel, project_for(project, registry, ["fraud-*"]))
    assert [f["status"] for f in found] == ["error"]
    assert "no registered model matches fraud-*" in found[0]["message"] and result.exit_code == 1


def test_unreachable_registry_is_one_bounded_error(gavel, project):
    pytest.importorskip("mlflow", reason="the MLflow client is in the test extras")
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    found, result = findings(gavel, project_for(project, url))
    assert time.monotonic() - started < 30
    assert [f["status"] for f in found] == ["error"]
    assert url in found[0]["message"] and result.exit_code == 1
