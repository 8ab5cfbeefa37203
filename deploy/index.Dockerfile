# The Wharf Index image. Build from the checkout's root:
#   docker build -f deploy/index.Dockerfile -t wharf-index .
# Runs `wharf-index serve` (gunicorn, gthread workers) as an unprivileged user on :5001.
# Configuration is the INDEX_* environment (index-service/README.md); secrets through
# INDEX_*_FILE pointing at mounted files. Run `wharf-index migrate` (same image) first.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY shared-protocol /src/shared-protocol
COPY index-service /src/index-service
RUN pip install /src/shared-protocol /src/index-service \
    && rm -rf /src \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin wharf

USER 10001:10001
WORKDIR /tmp
ENV INDEX_BIND=0.0.0.0:5001 \
    INDEX_LOG_FORMAT=json
EXPOSE 5001

# Liveness of the serving process (GET /healthz, no database); /readyz checks PostgreSQL.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('INDEX_BIND', ':5001').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]

ENTRYPOINT ["wharf-index"]
CMD ["serve"]
