# benzo-safety-cds: one container = one replica; scale workers with BENZO_CDS_WORKERS.
# Development mode (no JWT verification) is refused on 0.0.0.0: run it with
# BENZO_CDS_ENVIRONMENT=production and trusted issuers, or BENZO_CDS_DEMO=true for a demo.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BENZO_CDS_WORKERS=2 BENZO_CDS_DATABASE_URL=sqlite+aiosqlite:////data/benzo_cds.db \
    BENZO_CDS_FIXTURES_DIR=/srv/fhir_fixtures

RUN useradd --create-home --uid 10001 cds && mkdir /data && chown cds /data
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
# The project itself from this folder; its dependency ranges are in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[postgres]'
# Synthetic hook requests for the /preview page and `benzo-cds demo` (read-only).
COPY fhir_fixtures/hooks ./fhir_fixtures/hooks
COPY fhir_fixtures/samples ./fhir_fixtures/samples
COPY fhir_fixtures/expected.json ./fhir_fixtures/expected.json

USER 10001
# The SQLite feedback store (issued cards, feedback, snoozes) outlives the container here.
VOLUME ["/data"]
EXPOSE 8000
# Liveness, not /health (readiness): a database outage must not restart every replica.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"]
CMD ["sh", "-c", "exec benzo-cds serve --host 0.0.0.0 --port 8000 --workers ${BENZO_CDS_WORKERS}"]
