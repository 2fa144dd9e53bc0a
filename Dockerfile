# otop_sync, run unattended: `otop-sync schedule` as a non-root user.
# Configuration and the service-account key are mounted at run time, never baked in (see
# docs/operator-guide.md). BASE is the image users pull; scripts/test-image builds the same file on a
# Debian base made locally, where no registry is reachable.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# A virtual environment, copied whole into the final stage: no pip cache, no build tools, and the same
# file works on python:3.11-slim and on Debian's own python3.
RUN python3 -m venv /opt/otop-sync
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY config ./config
COPY templates ./templates
RUN /opt/otop-sync/bin/pip install --no-cache-dir --no-compile . \
    && /opt/otop-sync/bin/pip uninstall --yes pip \
    && /opt/otop-sync/bin/python -m compileall -q /opt/otop-sync/lib

FROM ${BASE}
# WeasyPrint renders the brief with Pango and HarfBuzz; the Thai font ships inside the wheel.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/otop-sync otop
COPY --from=build /opt/otop-sync /opt/otop-sync
ENV PATH=/opt/otop-sync/bin:$PATH \
    OTOP_SYNC_CONFIG=/etc/otop-sync \
    OTOP_SYNC_DATA_DIR=/var/lib/otop-sync \
    GOOGLE_APPLICATION_CREDENTIALS=/run/secrets/google-service-account.json \
    PYTHONUNBUFFERED=1
# The record of runs, the locks and the briefs: the volume. The configuration may be mounted read-only,
# unedited: its relative state and briefs folders are relative to OTOP_SYNC_DATA_DIR.
WORKDIR /var/lib/otop-sync
VOLUME ["/var/lib/otop-sync"]
# The otop user created above, by number so that Kubernetes' runAsNonRoot can check it.
USER 10001
# Unhealthy when a scheduled run was due more than `catch_up_hours` ago and none has succeeded since.
HEALTHCHECK --interval=15m --timeout=30s --start-period=5m CMD ["otop-sync", "status", "--check"]
STOPSIGNAL SIGTERM
CMD ["otop-sync", "schedule"]
