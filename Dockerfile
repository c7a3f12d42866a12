# localsection as a container image: a Worksection API server (and, with LOCALSECTION_EMULATOR=1, the test
# emulator's control API). Build: docker build -t localsection .   Run: docker run -p 8000:8000 -v ls-data:/data localsection
#
# scripts/container-build.sh runs these same steps without Docker (CI has no Docker daemon) and
# tests/plugin/test_container.py checks that the two agree: keep them in step when you change one.

# --- build stage: the wheel of localsection and of every dependency --------------------------------------------
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

# --- runtime stage: a virtualenv installed from those wheels only, run by an unprivileged user -------------------
FROM python:3.12-slim AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin localsection \
    && mkdir -p /data && chown localsection:localsection /data
COPY --from=build /wheels /wheels
RUN python -m venv /opt/localsection \
    && /opt/localsection/bin/pip install --no-cache-dir --no-index --find-links /wheels localsection \
    && rm -rf /wheels
ENV PATH=/opt/localsection/bin:$PATH
ENV PYTHONUNBUFFERED=1
ENV LOCALSECTION_DATA_DIR=/data
ENV LOCALSECTION_HOST=0.0.0.0
ENV LOCALSECTION_PORT=8000
USER localsection
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('LOCALSECTION_PORT', '8000'), timeout=2)"]
CMD ["localsection", "serve", "--host", "0.0.0.0"]
