# One image for both roles of docker-compose.yml: the SIP edge (Kamailio supervised by
# `pbx run` with the engine off) and the engine/API (`pbx run` with the edge off).
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv kamailio kamailio-postgres-modules kamailio-extra-modules \
      kamailio-utils-modules ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pbx pbx
COPY bot bot
COPY notifications notifications
COPY storage storage
COPY migrations migrations
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -e .
ENV PATH=/opt/venv/bin:$PATH PBX_DATA_DIR=/var/lib/tgpbx PBX_LOG_JSON=true
CMD ["pbx", "run"]
