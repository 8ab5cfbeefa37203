# The Wharf Registry image. Build from the checkout's root:
#   docker build -f deploy/registry.Dockerfile -t wharf-registry .
# Runs `wharf-registry serve` (gunicorn, gthread workers) as an unprivileged user on :5000.
# Configuration is the REGISTRY_* environment (registry-service/README.md). Filesystem
# storage lives in the /var/lib/registry volume; with S3 the container is stateless and
# any number of replicas may run.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY shared-protocol /src/shared-protocol
COPY registry-service /src/registry-service
RUN pip install "/src/shared-protocol[client]" /src/registry-service \
    && rm -rf /src \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin wharf \
    && mkdir -p /var/lib/registry \
    && chown 10001:10001 /var/lib/registry

USER 10001:10001
WORKDIR /tmp
ENV REGISTRY_HTTP_ADDR=0.0.0.0:5000 \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry \
    REGISTRY_LOG_FORMAT=json
VOLUME ["/var/lib/registry"]
EXPOSE 5000

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('REGISTRY_HTTP_ADDR', ':5000').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]

ENTRYPOINT ["wharf-registry"]
CMD ["serve"]
