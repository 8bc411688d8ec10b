# imagine-bot: one process with SQLite under /data (see compose.yaml). Build: docker build -t imagine-bot .
# Two stages: the first builds imagine-bot's wheel; the image installs the locked dependencies
# (requirements.lock: the versions the tests ran, with hashes) and that wheel, and nothing else:
# no source tree, no build folder.
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY adapters ./adapters
COPY bot ./bot
RUN pip wheel --no-deps --wheel-dir /wheels .


FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8080

WORKDIR /app

# Dependencies in their own layer, rebuilt only when the lock file changes; every file checked
# against its hash.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes --requirement /tmp/requirements.lock \
    && rm /tmp/requirements.lock

# The bot itself from the first stage's wheel, mounted for this step only (it leaves no copy).
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-deps /wheels/*.whl \
    && useradd --create-home --uid 10001 imagine \
    && mkdir /data \
    && chown imagine:imagine /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080

# Liveness without curl or wget: the image's own Python asks /livez where the bot listens,
# reading HEALTH_HOST and HEALTH_PORT as the bot does (bot/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]

# Exec form: the bot is PID 1 and gets SIGTERM itself (it drains, then exits).
ENTRYPOINT ["imagine-bot"]
CMD ["run"]
