"""The deployment files are consistent with the code: no Docker engine runs here, so the compose
file is parsed and every command, module and environment variable it relies on is checked."""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def test_compose_has_the_four_services_and_a_healthy_postgres():
    services = load("docker-compose.yml")["services"]
    assert {"postgres", "code-server", "webserver", "daemon"} <= set(services)
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in ("webserver", "daemon", "code-server"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_compose_command_exists_and_names_a_real_module():
    services = load("docker-compose.yml")["services"]
    for name, service in services.items():
        command = service.get("command")
        if not command:
            continue
        assert shutil.which(command[0], path=str(BIN)) or shutil.which(command[0]), f"{name}: {command[0]} not installed"
        if "-m" in command:
            importlib.import_module(command[command.index("-m") + 1])


def test_dagster_yaml_environment_is_provided_to_every_dagster_service():
    needed = set(re.findall(r"\{env: (\w+)\}", (ROOT / "dagster.yaml").read_text()))
    assert needed == {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"}
    services = load("docker-compose.yml")["services"]
    for name in ("code-server", "webserver", "daemon"):
        assert needed <= set(services[name]["environment"]), name


def test_workspace_points_at_the_code_server():
    location = load("workspace.yaml")["load_from"][0]["grpc_server"]
    services = load("docker-compose.yml")["services"]
    assert location["host"] in services
    assert str(location["port"]) in services[location["host"]]["command"]
