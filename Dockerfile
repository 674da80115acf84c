# One image for every Lazarus role; the role is chosen by the command:
#   python -m lazarus.producers sensors | python -m lazarus.producers genomes
#   python -m lazarus.trainer habitat   | python -m lazarus.trainer viability
#   python -m lazarus.scorer habitat    | lazarus topics create
# All configuration comes from LAZARUS_* environment variables (see docker-compose.yml).
FROM python:3.11-slim

# LAZARUS_EMBEDDED=false: containers talk to a real Kafka and Redis; the embedded
# stack is for laptops and its extras are not installed in this image.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    LAZARUS_EMBEDDED=false \
    LAZARUS_METRICS_PORT=8000 \
    LAZARUS_HEALTH_FILE=/tmp/lazarus-health

# Fixed numeric ids so orchestrators can verify "runs as non-root" without
# resolving names, and mounted volumes get predictable ownership.
RUN groupadd --system --gid 10001 lazarus \
 && useradd --system --uid 10001 --gid lazarus --home-dir /app --create-home \
            --shell /usr/sbin/nologin lazarus

# Build context: only what the package needs (see .dockerignore). Sources live in
# /src, outside the working directory, so `python -m ...` imports the installed
# package rather than a stray checkout on sys.path. The role folders are installed under the
# one import name `lazarus` (lazarus/schemas and the others are links to them).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/constraints.txt requirements/constraints.txt
COPY lazarus/ lazarus/
COPY schemas/ schemas/
COPY producers/ producers/
COPY trainer/ trainer/
COPY scorer/ scorer/
COPY quality/ quality/

# Installed as root into the system site-packages (read-only to the runtime
# user); the constraints file pins every transitive version for reproducible builds.
RUN pip install --no-cache-dir -c requirements/constraints.txt .

WORKDIR /app
USER 10001:10001

# Prometheus metrics (LAZARUS_METRICS_PORT).
EXPOSE 8000

CMD ["lazarus", "--help"]
