# otop_sync, run unattended: `otop-sync schedule` as a non-root user.
# Configuration and the service-account key are mounted at run time, never baked in (see README.md).

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
COPY pyproject.toml README.md ./
COPY src ./src
COPY config ./config
COPY templates ./templates
RUN python -m build --wheel --outdir /dist

FROM python:3.11-slim
# WeasyPrint renders the brief with Pango and HarfBuzz; the Thai font ships inside the wheel.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/*.whl && rm -rf /tmp/dist \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/otop-sync otop
ENV OTOP_SYNC_CONFIG=/etc/otop-sync \
    GOOGLE_APPLICATION_CREDENTIALS=/run/secrets/google-service-account.json \
    PYTHONUNBUFFERED=1
# The record of runs, the locks and the briefs go where the mounted configuration says: set
# [service] state_dir and [brief] output to /var/lib/otop-sync/state and /var/lib/otop-sync/briefs.
WORKDIR /var/lib/otop-sync
VOLUME ["/var/lib/otop-sync"]
# The otop user created above, by number so that Kubernetes' runAsNonRoot can check it.
USER 10001
# Unhealthy when a scheduled run was due more than `catch_up_hours` ago and none has succeeded since.
HEALTHCHECK --interval=15m --timeout=30s --start-period=5m CMD ["otop-sync", "status", "--check"]
STOPSIGNAL SIGTERM
CMD ["otop-sync", "schedule"]
