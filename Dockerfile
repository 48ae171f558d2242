# benzo-safety-cds: one container = one replica; scale workers with BENZO_CDS_WORKERS.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BENZO_CDS_WORKERS=2 BENZO_CDS_DATABASE_URL=sqlite+aiosqlite:////data/benzo_cds.db

RUN useradd --create-home --uid 10001 cds && mkdir /data && chown cds /data
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir '.[postgres]'

USER cds
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
CMD ["sh", "-c", "benzo-cds serve --host 0.0.0.0 --port 8000 --workers ${BENZO_CDS_WORKERS}"]
