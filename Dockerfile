# One image for the code server, webserver, daemon, instance-setup and the optional sandbox (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

WORKDIR /opt/dagster/app
COPY pyproject.toml README.md ./
COPY bp_nop_dagster ./bp_nop_dagster
RUN pip install --no-cache-dir .

RUN mkdir -p "$DAGSTER_HOME"
COPY dagster.yaml workspace.yaml "$DAGSTER_HOME"/

EXPOSE 4000 3000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "bp_nop_dagster.definitions", "--location-name", "bp_nop_dagster"]
