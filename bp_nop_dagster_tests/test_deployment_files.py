"""The deployment files are consistent with the code: no Docker engine runs here, so the compose
file, the Dockerfile, `.env.example` and the PostgreSQL init script are parsed, and every
command, option, module, path and environment variable they rely on is checked to exist."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from bp_nop_dagster import settings
from bp_nop_dagster.environment import environment_problems

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAGSTER_SERVICES = ("code-server", "webserver", "daemon", "instance-setup")
COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def services() -> dict:
    return load("docker-compose.yml")["services"]


def env_example() -> dict[str, str]:
    """The variables `.env.example` sets (commented-out alternatives excluded)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def substitute(text: str, values: dict[str, str]) -> str:
    """Compose's variable substitution: `${X}`, `${X:-default}`, `${X:?error}`."""

    def one(match: re.Match) -> str:
        name, kind, argument = match.groups()
        if values.get(name):
            return values[name]
        assert kind == "-", f"${{{name}}} has no value in .env.example and no default"
        return argument

    return COMPOSE_VARIABLE.sub(one, text)


def service_environment(name: str, values: dict[str, str]) -> dict[str, str]:
    """What a service's container sees: its env_file (`.env`, here `.env.example`), then `environment`."""
    service = services()[name]
    environment = dict(values) if service.get("env_file") == ".env" else {}
    environment.update({key: substitute(str(value), values) for key, value in (service.get("environment") or {}).items()})
    return environment


def test_compose_has_the_services_and_a_healthy_postgres():
    compose = services()
    assert {"postgres", "sandbox", *DAGSTER_SERVICES} <= set(compose)
    assert "pg_isready" in " ".join(compose["postgres"]["healthcheck"]["test"])
    for name in DAGSTER_SERVICES:
        assert compose[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert compose["daemon"]["depends_on"]["instance-setup"]["condition"] == "service_completed_successfully"
    assert compose["sandbox"]["profiles"] == ["demo"]


def test_every_compose_command_and_option_exists_and_names_a_real_module():
    """Each command runs here with `--help` appended (click and argparse both stop there), and every
    option it passes must appear in that help."""
    commands = {name: service["command"] for name, service in services().items() if service.get("command")}
    helps = {}
    for name, command in commands.items():
        executable = BIN / command[0]
        assert executable.exists(), f"{name}: {command[0]} is not installed"
        helps[name] = subprocess.Popen([str(executable), *command[1:], "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, command in commands.items():
        output, _ = helps[name].communicate(timeout=60)
        assert helps[name].returncode == 0, f"{name}: {shlex.join(command)} --help failed:\n{output}"
        for option in (token for token in command[1:] if token.startswith("-")):
            assert re.search(rf"(^|[\s,]){re.escape(option)}\b", output, re.M), f"{name}: {option} is not an option of {command[:3]}"
        if "-m" in command:
            importlib.import_module(command[command.index("-m") + 1])


def test_dagster_yaml_environment_is_provided_to_every_dagster_service():
    needed = set(re.findall(r"\{env: (\w+)\}", (ROOT / "dagster.yaml").read_text()))
    assert needed == set(settings.DAGSTER_PG_VARIABLES)
    for name in DAGSTER_SERVICES:
        assert needed <= set(service_environment(name, env_example())), name


def test_every_compose_variable_has_a_value_or_a_default_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    values = env_example()
    for name, kind, _ in COMPOSE_VARIABLE.findall(text):
        assert kind == "-" or name in values, f"${{{name}}} is required by docker-compose.yml but missing from .env.example"


def test_every_env_example_variable_is_read_by_the_code_or_compose():
    sources = "\n".join(path.read_text() for path in (ROOT / "bp_nop_dagster").rglob("*.py"))
    compose = (ROOT / "docker-compose.yml").read_text()
    for name in env_example():
        assert f'"{name}"' in sources or f"${{{name}" in compose, f"{name} in .env.example is read by nothing"


def test_the_code_server_gets_a_valid_production_configuration_from_env_example():
    """`.env.example` as shipped, through compose, is a production configuration the code location
    accepts: https endpoints, the ledger in its own PostgreSQL database on the compose server."""
    environment = service_environment("code-server", env_example())
    assert environment[settings.BP_NOP_ENV] == "production"
    assert environment_problems(environment) == []
    ledger = environment[settings.BP_NOP_LEDGER_URL]
    assert ledger.startswith("postgresql+psycopg2://") and "@postgres:5432/" in ledger
    assert ledger.rsplit("/", 1)[1] == substitute(services()["postgres"]["environment"]["BP_NOP_LEDGER_DB"], env_example())
    for name in (settings.BRIGHTPEARL_BASE_URL, settings.BRIGHTPEARL_APP_REF, settings.BRIGHTPEARL_ACCOUNT_TOKEN,
                 settings.NOPCOMMERCE_BASE_URL, settings.NOPCOMMERCE_EMAIL, settings.NOPCOMMERCE_PASSWORD,
                 settings.BP_NOP_ALERT_WEBHOOK_URL, settings.BP_NOP_DAGSTER_UI_URL):
        assert name in environment, f"{name} does not reach the code server"


def test_the_postgres_init_script_is_mounted_and_gets_its_variables():
    postgres = services()["postgres"]
    [mount] = [v for v in postgres["volumes"] if v.endswith("/docker-entrypoint-initdb.d:ro")]
    folder = ROOT / mount.split(":")[0]
    scripts = list(folder.glob("*.sh"))
    assert scripts, f"no init script in {folder}"
    for script in scripts:
        used = set(re.findall(r"\$(?:\{)?(\w+)", script.read_text()))
        assert used <= set(postgres["environment"]), f"{script.name} reads {used - set(postgres['environment'])}"


def test_the_dockerfile_copies_what_exists_and_serves_the_code_location():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        *sources, _ = line.split()
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    cmd = re.search(r"^CMD (\[.+\])$", dockerfile, re.M).group(1)
    assert yaml.safe_load(cmd) == services()["code-server"]["command"]
    home = re.search(r"DAGSTER_HOME=(\S+)", dockerfile).group(1)
    for name in ("webserver", "daemon"):
        command = services()[name]["command"]
        assert command[command.index("-w") + 1] == f"{home}/workspace.yaml"


def test_workspace_points_at_the_code_server():
    location = load("workspace.yaml")["load_from"][0]["grpc_server"]
    compose = services()
    assert location["host"] in compose
    assert str(location["port"]) in compose[location["host"]]["command"]
