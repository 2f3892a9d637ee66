#!/usr/bin/env bash
# Stops the servers up.sh started (by pid), leaving their data in place.
set -uo pipefail
dir=${ARGUS_SERVICES_DIR:-/tmp/argus-services}
log() { printf '[down] %s\n' "$*" >&2; }

if [[ -f $dir/postgres/postmaster.pid ]]; then
  log "stopping postgres"
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/postgres" -m fast -w stop >/dev/null || true
fi
for name in valkey falkordb kafka chromedriver; do
  pid_file="$dir/$name.pid"
  [[ -f $pid_file ]] || continue
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name ($pid)"
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
done
log "done"
