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
from urllib.parse import urlsplit

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


def real_passwords(values: dict[str, str]) -> dict[str, str]:
    """`.env.example` as an operator fills it in: every change-me password replaced."""
    return {name: (f"{name.lower().replace('_', '')}8f3k2p9q7x" if "change-me" in value else value) for name, value in values.items()}


def test_the_shipped_placeholder_passwords_are_refused_in_production():
    """`.env.example` ships `change-me-long-random`; staging and production must refuse it
    (issue 12, E) for both databases the code server uses, naming the variables only."""
    environment = service_environment("code-server", env_example())
    problems = environment_problems(environment)
    assert len(problems) == 2, problems
    assert any("the password in BP_NOP_LEDGER_URL is still the placeholder" in p for p in problems)
    assert any("DAGSTER_PG_PASSWORD is still the placeholder" in p for p in problems)


def test_the_code_server_gets_a_valid_production_configuration_once_the_passwords_are_set():
    """`.env.example` with its passwords set, through compose, is a production configuration the
    code location accepts: https endpoints, the ledger in its own PostgreSQL database and role."""
    values = real_passwords(env_example())
    environment = service_environment("code-server", values)
    assert environment[settings.BP_NOP_ENV] == "production"
    assert environment_problems(environment) == []
    ledger = urlsplit(environment[settings.BP_NOP_LEDGER_URL])
    assert ledger.scheme == "postgresql+psycopg2" and ledger.hostname == "postgres" and ledger.port == 5432
    postgres = {key: substitute(str(value), values) for key, value in services()["postgres"]["environment"].items()}
    assert ledger.path == f"/{postgres['BP_NOP_LEDGER_DB']}"
    assert (ledger.username, ledger.password) == (postgres["BP_NOP_LEDGER_USERNAME"], postgres["BP_NOP_LEDGER_PASSWORD"])
    for name in (settings.BRIGHTPEARL_BASE_URL, settings.BRIGHTPEARL_APP_REF, settings.BRIGHTPEARL_ACCOUNT_TOKEN,
                 settings.NOPCOMMERCE_BASE_URL, settings.NOPCOMMERCE_EMAIL, settings.NOPCOMMERCE_PASSWORD,
                 settings.BP_NOP_ALERT_WEBHOOK_URL, settings.BP_NOP_DAGSTER_UI_URL):
        assert name in environment, f"{name} does not reach the code server"


def test_the_code_server_gets_every_variable_the_code_reads_and_nothing_else_from_env():
    """No `env_file`: each variable is passed by name, so `.env`'s other secrets (the superuser's
    password) stay out, and a variable settings.py names cannot be forgotten."""
    code_server = services()["code-server"]
    assert "env_file" not in code_server
    read = {value for name, value in vars(settings).items() if name.isupper() and isinstance(value, str)}
    passed = set(code_server["environment"])
    # The image sets DAGSTER_HOME; reports go under it; the webhook secret and URL go to the
    # `webhooks` service only (the code server never calls back, so it never holds the secret).
    receiver_only = {settings.BP_NOP_WEBHOOK_SECRET, settings.BP_NOP_WEBHOOK_PUBLIC_URL}
    assert read - {settings.DAGSTER_HOME, settings.BP_NOP_REPORTS_DIR} - receiver_only <= passed
    assert not receiver_only & passed
    assert passed <= read, passed - read


def test_each_database_has_its_own_role_and_no_service_gets_the_superuser():
    values = real_passwords(env_example())
    postgres = {key: substitute(str(value), values) for key, value in services()["postgres"]["environment"].items()}
    superuser, superuser_password = postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]
    roles = {postgres["DAGSTER_PG_USERNAME"], postgres["BP_NOP_LEDGER_USERNAME"], superuser}
    assert len(roles) == 3, "the instance, the ledger and the superuser must be three roles"
    for name in DAGSTER_SERVICES:
        environment = service_environment(name, values)
        assert environment[settings.DAGSTER_PG_USERNAME] == postgres["DAGSTER_PG_USERNAME"], name
        assert superuser_password not in environment.values(), f"{name} gets the superuser's password"
        ledger = environment.get(settings.BP_NOP_LEDGER_URL)
        assert ledger is None or urlsplit(ledger).username == postgres["BP_NOP_LEDGER_USERNAME"], name


def test_nothing_is_published_beyond_the_hosts_loopback():
    """The UI has no login (Dagster OSS): it and anything else published listens on 127.0.0.1 only."""
    published = {name: service.get("ports", []) for name, service in services().items()}
    assert published["webserver"] == ["127.0.0.1:3000:3000"]
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_the_demo_sandbox_listens_on_the_code_servers_loopback_only():
    sandbox = services()["sandbox"]
    assert sandbox["network_mode"] == "service:code-server"
    command = sandbox["command"]
    assert command[command.index("--host") + 1] == "127.0.0.1"


def test_the_image_runs_as_a_non_root_user_owning_only_dagster_home():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image's last USER must not be root"
    user = users[-1].split(":")[0]
    assert re.search(rf"useradd [^\n]*--uid \d+[^\n]* {user}\b", dockerfile), "the user is created in the image"
    assert f'chown -R {user}:' in dockerfile and '"$DAGSTER_HOME"' in dockerfile
    assert dockerfile.index("pip install") < dockerfile.index(f"USER {users[-1]}"), "packages install as root, before USER"
    for name in DAGSTER_SERVICES + ("sandbox",):
        assert "user" not in services()[name], f"{name} overrides the image's non-root user"


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
