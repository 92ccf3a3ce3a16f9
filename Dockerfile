# The yibao image: the platform, its outbox worker and the hospital middleware are the same program (`yibao`)
# started with different commands (compose.yaml). docs/deployment.md says how to configure and run it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/yibao
# every dependency is pinned exactly in pyproject.toml
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/yibao --create-home yibao

USER 10001:10001
WORKDIR /var/lib/yibao
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "yibao.healthcheck", "http://127.0.0.1:8000/health"]

ENTRYPOINT ["yibao"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
