# One image for the code server, webserver, daemon, instance-setup and the optional sandbox (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

WORKDIR /opt/dagster/app
COPY pyproject.toml README.md ./
COPY bp_nop_dagster ./bp_nop_dagster
RUN pip install --no-cache-dir .

# The services run as an unprivileged user that owns only $DAGSTER_HOME, where Dagster writes
# (storage and reports are compose volumes, which take this ownership on first use); the
# installed code and the instance configuration files stay root's, read-only to it.
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --home-dir "$DAGSTER_HOME" --shell /usr/sbin/nologin dagster \
    && mkdir -p "$DAGSTER_HOME/storage" "$DAGSTER_HOME/reports" \
    && chown -R dagster:dagster "$DAGSTER_HOME"
COPY dagster.yaml workspace.yaml "$DAGSTER_HOME"/
USER dagster:dagster

EXPOSE 4000 3000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "bp_nop_dagster.definitions", "--location-name", "bp_nop_dagster"]
