# The Wharf Index image. Build from the checkout's root:
#   docker build -f deploy/index.Dockerfile -t wharf-index .
# Runs `wharf-index serve` (gunicorn, gthread workers) as an unprivileged user on :5001.
# Configuration is the INDEX_* environment (index-service/README.md); secrets through
# INDEX_*_FILE pointing at mounted files. Run `wharf-index migrate` (same image) first.
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
# index-service/requirements.lock, made by ./deploy/lock): this layer is rebuilt only when
# the lock changes, not when the source does.
COPY index-service/requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes --no-deps -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin wharf

# Then the packages of this checkout, without dependencies; `pip check` fails the build
# when the lock lacks one of theirs.
COPY shared-protocol /src/shared-protocol
COPY index-service /src/index-service
RUN pip install --no-deps /src/shared-protocol /src/index-service \
    && pip check \
    && rm -rf /src

USER 10001:10001
WORKDIR /tmp
ENV INDEX_BIND=0.0.0.0:5001 \
    INDEX_LOG_FORMAT=json
EXPOSE 5001

# Liveness of the serving process (GET /healthz, no database); /readyz checks PostgreSQL.
# Docker image format only: OCI-format builds (podman/buildah's default) drop HEALTHCHECK,
# so compose.yaml and the Kubernetes probes carry their own checks.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('INDEX_BIND', ':5001').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]

ENTRYPOINT ["wharf-index"]
CMD ["serve"]
