"""The deployment files are consistent with the code: no Docker engine runs here, so the compose
file, the Dockerfile, `.env.example` and the PostgreSQL init script are parsed, and every
command, option, module, path and environment variable they rely on is checked to exist."""

from __future__ import annotations

import importlib
import json
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


# --- Many pairs: the Docker run launcher overlay and the Helm values (README, "Many pairs and scale").

class ComposeLoader(yaml.SafeLoader):
    """YAML as compose reads it: `!override` and `!reset` (compose 2.24) keep their value."""


for _tag in ("!override", "!reset"):
    ComposeLoader.add_constructor(_tag, lambda loader, node: (
        loader.construct_mapping(node) if isinstance(node, yaml.MappingNode)
        else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_scalar(node) or None))

PAIRS_COMPOSE = "deploy/docker/compose.pairs.yml"


def pairs_compose() -> dict:
    return yaml.load((ROOT / PAIRS_COMPOSE).read_text(), Loader=ComposeLoader)


def pairs_env_example() -> dict[str, str]:
    """`.env.example` with its passwords set, plus deploy/docker/pairs.env.example appended."""
    values = real_passwords(env_example())
    for line in (ROOT / "deploy/docker/pairs.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def overlay_environment(name: str, values: dict[str, str]) -> dict[str, str]:
    """A service's environment once the overlay is laid over docker-compose.yml (mappings merge)."""
    base = services().get(name, {}).get("environment") or {}
    merged = {**base, **(pairs_compose()["services"][name].get("environment") or {})}
    return {key: substitute(str(value), values) for key, value in merged.items()}


def pair_services(command: tuple[str, ...] = ("dagster", "code-server", "start")) -> dict[str, dict]:
    """The overlay's per-pair services running `command` (default: the code servers)."""
    return {name: service for name, service in pairs_compose()["services"].items()
            if settings.BP_NOP_PAIR in (service.get("environment") or {}) and tuple(service["command"][:len(command)]) == command}


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def instance_config_errors(config: dict, monkeypatch) -> list[str]:
    """Dagster's own check of an instance file (every `{env: X}` given a dummy value)."""
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    for variable in settings.DAGSTER_PG_VARIABLES:
        monkeypatch.setenv(variable, "5432" if variable == settings.DAGSTER_PG_PORT else "x")
    result = process_config(dagster_instance_config_schema(), config)
    return [error.message for error in result.errors or []]


def per_pair_limit(limits: list[dict], key: str) -> dict | None:
    return next((limit for limit in limits if limit["key"] == key and limit.get("value") == {"applyLimitPerUniqueValue": True}), None)


def test_the_single_pair_instance_limits_runs_per_pair_and_stays_valid(monkeypatch):
    config = load("dagster.yaml")
    assert instance_config_errors(config, monkeypatch) == []
    limit = per_pair_limit(config["concurrency"]["runs"]["tag_concurrency_limits"], "bp_nop/pair")
    assert limit is not None and 1 <= limit["limit"] <= config["concurrency"]["runs"]["max_concurrent_runs"]


def test_the_docker_instance_launches_each_run_in_its_own_container_on_the_compose_network(monkeypatch):
    from dagster._config import process_config
    from dagster_docker import DockerRunLauncher

    config = load("deploy/docker/dagster.yaml")
    assert instance_config_errors(config, monkeypatch) == []
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    assert process_config(DockerRunLauncher.config_type(), launcher["config"]).success
    assert launcher["config"]["network"] == pairs_compose()["networks"]["default"]["name"]
    # The run containers reach the instance's database: its settings are passed by name.
    assert set(settings.DAGSTER_PG_VARIABLES) <= set(launcher["config"]["env_vars"])
    assert not any("=" in name for name in launcher["config"]["env_vars"]), "values are never written into the instance file"
    runs = config["concurrency"]["runs"]
    for key in ("bp_nop/pair", "dagster/code_location"):
        limit = per_pair_limit(runs["tag_concurrency_limits"], key)
        assert limit is not None, f"no per-pair limit on {key}"
        # max_concurrent_runs leaves every pair its share: the limit times the pairs deployed.
        assert limit["limit"] * len(pair_services()) <= runs["max_concurrent_runs"]
    assert config["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}


def test_one_code_location_per_pair_named_alike_in_workspace_and_compose():
    from bp_nop_dagster.pairs import PAIR_NAME

    locations = [entry["grpc_server"] for entry in load("deploy/docker/workspace.yaml")["load_from"]]
    pairs = pair_services()
    assert len(pairs) >= 2 and len(locations) == len(pairs)
    ledger_pairs = pairs_compose()["services"]["postgres"]["environment"]["BP_NOP_LEDGER_PAIRS"].split()
    for location in locations:
        service = pairs[location["host"]]
        command = service["command"]
        pair = service["environment"]["BP_NOP_PAIR"]
        assert PAIR_NAME.match(pair) and location["host"] == f"code-{pair}"
        assert option(command, "--location-name") == location["location_name"] == f"bp_nop_{pair}"
        assert option(command, "-p") == str(location["port"])
        assert option(command, "-m") == "bp_nop_dagster.definitions"
        assert pair in ledger_pairs
    assert sorted(ledger_pairs) == sorted(s["environment"]["BP_NOP_PAIR"] for s in pairs.values())
    # The single pair's code server is off in this deployment, and nobody waits for it.
    overlay = pairs_compose()["services"]
    assert overlay["code-server"]["profiles"] == ["single-pair"]
    for name in ("webserver", "daemon"):
        assert "code-server" not in overlay[name]["depends_on"]
        assert set(pairs) <= set(overlay[name]["depends_on"])


def test_each_pairs_run_containers_get_only_that_pairs_variables_by_name():
    from bp_nop_dagster.pairs import pair_variable

    pairs = pair_services()
    names = {service["environment"]["BP_NOP_PAIR"] for service in pairs.values()}
    daemon = overlay_environment("daemon", pairs_env_example())
    for service in pairs.values():
        pair = service["environment"]["BP_NOP_PAIR"]
        context = json.loads(option(service["command"], "--container-context"))
        env_vars = context["docker"]["env_vars"]
        assert f"{settings.BP_NOP_PAIR}={pair}" in env_vars
        assert option(service["command"], "--container-image") == service["image"]
        for entry in env_vars:
            name, has_value, _ = entry.partition("=")
            assert not has_value or name == settings.BP_NOP_PAIR, f"{entry}: values are the daemon's, never stored with the run"
            assert name in daemon or name == settings.BP_NOP_PAIR, f"the daemon cannot hand {name} to the run"
            assert not any(name.startswith(pair_variable(other, "")) for other in names - {pair}), f"{pair} would see {name}"
        from bp_nop_dagster.pairs import PAIR_VARIABLES

        # The runs' secrets (the alert URL is optional; the webhook secret is the receiver's only).
        for secret in set(settings.SECRET_VARIABLES) & set(PAIR_VARIABLES) - {settings.BP_NOP_ALERT_WEBHOOK_URL, settings.BP_NOP_WEBHOOK_SECRET}:
            assert pair_variable(pair, secret) in env_vars, f"{pair}'s runs lack {secret}"


def test_every_secret_in_the_pairs_overlay_is_a_reference_never_a_value():
    text = (ROOT / PAIRS_COMPOSE).read_text()
    overlay = pairs_compose()
    for name, service in overlay["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(key == secret or key.endswith(f"__{secret}") for secret in settings.SECRET_VARIABLES):
                assert "${" in str(value), f"{name}: {key} is written into the file"
    for name, kind, _ in COMPOSE_VARIABLE.findall(text):
        assert kind == "-" or name in pairs_env_example(), f"${{{name}}} is required by {PAIRS_COMPOSE} but in no .env example"


def test_a_pairs_code_location_and_its_run_containers_get_a_valid_production_configuration():
    """Through compose's substitution and the pair's own prefix: each pair's code server, and a
    run container built from its container context and the daemon's values, is a production
    configuration the code location accepts, with that pair's credentials and ledger, not another's."""
    from bp_nop_dagster.pairs import apply_pair_environment

    values = pairs_env_example()
    daemon = overlay_environment("daemon", values)
    tokens = set()
    for service_name, service in pair_services().items():
        pair = service["environment"]["BP_NOP_PAIR"]
        code_server = overlay_environment(service_name, values)
        entries = json.loads(option(service["command"], "--container-context"))["docker"]["env_vars"]
        run = dict(entry.split("=", 1) if "=" in entry else (entry, daemon[entry]) for entry in entries)
        run.update({name: daemon[name] for name in load("deploy/docker/dagster.yaml")["run_launcher"]["config"]["env_vars"]})
        for environment in (code_server, run):
            apply_pair_environment(environment)
            assert environment_problems(environment) == [], (service_name, environment_problems(environment))
            assert environment[settings.BRIGHTPEARL_ACCOUNT_TOKEN] == values[f"BP_NOP_{pair.upper()}__BRIGHTPEARL_ACCOUNT_TOKEN"]
            assert urlsplit(environment[settings.BP_NOP_LEDGER_URL]).path == f"/{values.get('BP_NOP_LEDGER_DB', 'bp_nop_ledger')}_{pair}"
        tokens.add(code_server[settings.BRIGHTPEARL_ACCOUNT_TOKEN])
    assert len(tokens) == len(pair_services()), "each pair books with its own account's token"


def test_each_pair_has_its_own_webhook_receiver_with_only_its_accounts_values():
    """One receiver per pair (its account's subscriptions, its ledger's queue), on loopback only;
    the single pair's receiver is off. With the pair's values applied, it has the Brightpearl
    account, the webhook secret and the ledger of its own pair and nothing of another's."""
    from bp_nop_dagster.pairs import apply_pair_environment

    receivers = pair_services(("bp-nop", "webhooks", "serve"))
    pairs = {service["environment"]["BP_NOP_PAIR"] for service in pair_services().values()}
    assert {service["environment"]["BP_NOP_PAIR"] for service in receivers.values()} == pairs
    assert pairs_compose()["services"]["webhooks"]["profiles"] == ["single-pair"]
    values = pairs_env_example()
    for name, service in receivers.items():
        pair = service["environment"]["BP_NOP_PAIR"]
        assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])
        environment = overlay_environment(name, values)
        assert not any(key.startswith("BP_NOP_") and "__" in key and not key.startswith(f"BP_NOP_{pair.upper()}__") for key in environment)
        apply_pair_environment(environment)
        assert environment[settings.BRIGHTPEARL_ACCOUNT_TOKEN] == values[f"BP_NOP_{pair.upper()}__BRIGHTPEARL_ACCOUNT_TOKEN"]
        assert environment[settings.BP_NOP_WEBHOOK_SECRET] == values[f"BP_NOP_{pair.upper()}__BP_NOP_WEBHOOK_SECRET"]
        assert urlsplit(environment[settings.BP_NOP_LEDGER_URL]).path.endswith(f"_{pair}")
        assert settings.NOPCOMMERCE_PASSWORD not in environment


def test_the_pair_ledger_script_reads_only_what_postgres_is_given():
    script = (ROOT / "deploy/docker/pair-ledgers.sh").read_text()
    postgres = {**services()["postgres"]["environment"], **pairs_compose()["services"]["postgres"]["environment"]}
    used = set(re.findall(r"\$(?:\{)?([A-Z]\w+)", script))
    assert used <= set(postgres), used - set(postgres)
    [mount] = pairs_compose()["services"]["postgres"]["volumes"]
    source, target, _ = mount.split(":")
    assert (ROOT / source).exists()
    # The entrypoint runs init scripts in name order: the ledger role must exist first.
    first = next((ROOT / "deploy/postgres-init").glob("*.sh")).name
    assert Path(target).name > first


def test_the_pair_code_servers_options_exist():
    help_text = subprocess.run([str(BIN / "dagster"), "code-server", "start", "--help"], capture_output=True, text=True, timeout=60).stdout
    for service in pair_services().values():
        command = service["command"]
        assert command[:3] == ["dagster", "code-server", "start"]
        for token in (t for t in command[3:] if t.startswith("-")):
            assert re.search(rf"(^|[\s,]){re.escape(token)}\b", help_text, re.M), f"{token} is not an option of dagster code-server start"


def test_docker_compose_accepts_the_overlay_when_the_client_can_check_it(tmp_path):
    """`docker compose config` needs no engine; skipped where the compose plugin is missing."""
    import shutil

    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode != 0:
        import pytest

        pytest.skip("the docker compose client is not installed here")
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(f"{k}={v}" for k, v in pairs_env_example().items()))
    result = subprocess.run([docker, "compose", "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml"),
                             "-f", str(ROOT / PAIRS_COMPOSE), "config", "--quiet"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr


HELM_VALUES = "deploy/helm/values.yaml"


def test_the_helm_values_fit_the_charts_schema():
    import jsonschema

    schema = json.loads((ROOT / "deploy/helm/chart-schema/values.subset.schema.json").read_text())
    jsonschema.validate(load(HELM_VALUES), schema)
    assert (ROOT / "deploy/helm/chart-schema/LICENSE-dagster-helm-schema").read_text().count("Apache License")


def test_the_helm_values_run_each_pair_as_its_own_code_location_with_k8s_run_launcher_and_external_postgres():
    from bp_nop_dagster.pairs import PAIR_NAME

    values = load(HELM_VALUES)
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    # External PostgreSQL, its password from an existing Kubernetes secret, never written here.
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"] and values["global"]["postgresqlSecretName"]
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    assert per_pair_limit(coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"], "bp_nop/pair")
    assert values["concurrency"]["pools"] == {"defaultLimit": 1, "granularity": "op"}
    deployments = values["dagster-user-deployments"]["deployments"]
    pairs = [deployment["env"]["BP_NOP_PAIR"] for deployment in deployments]
    assert len(set(pairs)) == len(pairs) >= 2
    for deployment, pair in zip(deployments, pairs):
        assert PAIR_NAME.match(pair) and deployment["name"] == f"bp-nop-{pair.replace('_', '-')}"
        args = deployment["dagsterApiGrpcArgs"]
        importlib.import_module(args[args.index("-m") + 1])
        assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True, "run pods must get their pair's settings"
        assert {"name": f"bp-nop-{pair.replace('_', '-')}"} in deployment["envSecrets"]
        for secret in settings.SECRET_VARIABLES:
            assert secret not in deployment["env"], f"{deployment['name']}: {secret} belongs in its Kubernetes secret"
        # With the secrets' variables, the pair's environment is a production configuration.
        environment = {**deployment["env"], **{name: "x" for name in settings.SECRET_VARIABLES}}
        environment[settings.BP_NOP_LEDGER_URL] = f"postgresql+psycopg2://ledger:{'k' * 24}@db:5432/ledger_{pair}"
        environment[settings.DAGSTER_PG_PASSWORD] = "p" * 24
        assert environment_problems(environment) == [], environment_problems(environment)
