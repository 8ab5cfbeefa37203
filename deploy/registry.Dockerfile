# The Wharf Registry image. Build from the checkout's root:
#   docker build -f deploy/registry.Dockerfile -t wharf-registry .
# Runs `wharf-registry serve` (gunicorn, gthread workers) as an unprivileged user on :5000.
# Configuration is the REGISTRY_* environment (registry-service/README.md). Filesystem
# storage lives in the /var/lib/registry volume; with S3 the container is stateless and
# any number of replicas may run.
# The base image: PYTHON_IMAGE is name:tag@sha256:digest once ./deploy/pin-images has run
# (with access to the image registry); until then the tag alone, which can move. Build
# with another base: --build-arg PYTHON_IMAGE=... (Python 3.11: the lock is for it).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Third-party packages first, exactly as locked (versions and sha256 hashes,
# registry-service/requirements.lock, made by ./deploy/lock): this layer is rebuilt only
# when the lock changes, not when the source does.
COPY registry-service/requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes --no-deps -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin wharf \
    && mkdir -p /var/lib/registry \
    && chown 10001:10001 /var/lib/registry

# Then the packages of this checkout, without dependencies; `pip check` fails the build
# when the lock lacks one of theirs.
COPY shared-protocol /src/shared-protocol
COPY registry-service /src/registry-service
RUN pip install --no-deps /src/shared-protocol /src/registry-service \
    && pip check \
    && rm -rf /src

USER 10001:10001
WORKDIR /tmp
ENV REGISTRY_HTTP_ADDR=0.0.0.0:5000 \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry \
    REGISTRY_LOG_FORMAT=json
VOLUME ["/var/lib/registry"]
EXPOSE 5000

# Docker image format only: OCI-format builds (podman/buildah's default) drop HEALTHCHECK,
# so compose.yaml and the Kubernetes probes carry their own checks.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('REGISTRY_HTTP_ADDR', ':5000').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]

ENTRYPOINT ["wharf-registry"]
CMD ["serve"]
