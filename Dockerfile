# cekura-optimise as a team service: `serve --transport http --oauth`, configured by environment
# variables (see README, "Deploy for a team"). Two stages: the build stage makes a virtualenv, the
# final image copies only that onto a clean slim base and runs as an unprivileged user.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY server ./server
COPY tools ./tools
COPY prompts ./prompts
COPY sandbox ./sandbox
RUN /opt/venv/bin/pip install --no-cache-dir .

FROM python:${PYTHON_VERSION}-slim
RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent cekura \
    && mkdir -p /var/lib/cekura-optimise \
    && chown cekura:cekura /var/lib/cekura-optimise
COPY --from=build /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CEKURA_OPTIMISE_STATE_DIR=/var/lib/cekura-optimise \
    CEKURA_OPTIMISE_LOG_FORMAT=json
VOLUME ["/var/lib/cekura-optimise"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["cekura-optimise"]
CMD ["serve", "--transport", "http", "--oauth", "--host", "0.0.0.0", "--port", "8000"]
