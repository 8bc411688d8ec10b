# imagine-bot: one process with SQLite under /data (see compose.yaml). Build: docker build -t imagine-bot .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8080

WORKDIR /app

# Dependencies in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY core ./core
COPY adapters ./adapters
COPY bot ./bot
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 imagine \
    && mkdir /data \
    && chown imagine:imagine /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080

# Liveness without curl or wget: the image's own Python asks /livez.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=4)"]

# Exec form: the bot is PID 1 and gets SIGTERM itself (it drains, then exits).
ENTRYPOINT ["imagine-bot"]
CMD ["run"]
