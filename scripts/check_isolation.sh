#!/usr/bin/env bash
# Proof that `make test` and `make run` use only their own embedded servers: both run in a
# new network namespace, where nothing answers on 127.0.0.1:5432 (PostgreSQL) or 127.0.0.1:6379
# (Redis) whatever the machine runs outside it. As root (unshare --net):
#
#   scripts/check_isolation.sh                          # the whole suite, then a short make run
#   PYTEST_ARGS="tests/smarketing" scripts/check_isolation.sh
#
# `make run` is started with its own var/ directory (removed afterwards), waited for until
# /healthz answers 200, stopped with SIGINT to its process group (as Ctrl-C does), and then
# no process of it may be left.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--inside" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "check_isolation: run as root (it needs unshare --net)." >&2
    exit 2
  fi
  # The namespace has no network: install everything first.
  make deps-dev chromium
  exec unshare --net "$0" --inside
fi

ip link set lo up
unset DATABASE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND REDIS_URL TEST_DATABASE_URL TEST_REDIS_URL
PY=.venv/bin/python

echo "== in a network namespace of its own: 127.0.0.1:5432 and :6379 must refuse"
"$PY" - <<'PYTHON'
import socket, sys
for port in (5432, 6379):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        print(f"127.0.0.1:{port} refuses connections")
    else:
        sys.exit(f"check_isolation: something answers on 127.0.0.1:{port} in the namespace")
PYTHON

echo "== make test"
began=$(date +%s)
make test
echo "make test passed in $(($(date +%s) - began)) s"

echo "== make run"
var_dir=$(mktemp -d /tmp/smarketing-isolation-XXXXXX)
chmod 711 "$var_dir"
trap 'rm -rf "$var_dir"' EXIT
port=8000
set -m # make run gets a process group of its own, which SIGINT is sent to, as by Ctrl-C
began=$(date +%s)
SMARKETING_VAR_DIR="$var_dir" make run PORT="$port" >"$var_dir/run.log" 2>&1 &
run_group=$!
set +m
if ! "$PY" - "$port" "$run_group" <<'PYTHON'; then
import sys, time, urllib.request
from pathlib import Path
url = f"http://127.0.0.1:{sys.argv[1]}/healthz"
stat = Path(f"/proc/{sys.argv[2]}/stat")
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
        sys.exit(1)  # make run ended
    try:
        if urllib.request.urlopen(url, timeout=5).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
PYTHON
  echo "check_isolation: /healthz did not answer 200; the end of make run's output:" >&2
  tail -40 "$var_dir/run.log" >&2
  kill -INT -- "-$run_group" 2>/dev/null || true
  exit 1
fi
echo "make run answered 200 on /healthz $(($(date +%s) - began)) s after it started"
grep -h "^services:" "$var_dir/run.log" || true

our_processes() { # every process that carries this run's var/ in its environment
  grep -lszxF "SMARKETING_VAR_DIR=$var_dir" /proc/[0-9]*/environ | cut -d/ -f3 || true
}
server_pids="$(head -1 "$var_dir/postgres/postmaster.pid") $(cat "$var_dir/valkey/valkey.pid")"
echo "running: $(our_processes | wc -l) processes, servers $server_pids"

began=$(date +%s)
kill -INT -- "-$run_group"
status=0
wait "$run_group" || status=$?
echo "make run stopped in $(($(date +%s) - began)) s (status $status)"
left=$(our_processes)
for pid in $server_pids; do
  [ -d "/proc/$pid" ] && left="$left $pid"
done
if [ -n "${left// /}" ]; then
  echo "check_isolation: processes left after make run stopped:" >&2
  ps -o pid,user,args -p "$(echo "$left" | xargs | tr ' ' ,)" >&2 || true
  exit 1
fi
for file in postgres/postmaster.pid valkey/valkey.pid services.env; do
  if [ -e "$var_dir/$file" ]; then
    echo "check_isolation: $file is left after a clean stop" >&2
    exit 1
  fi
done
echo "no process left; the servers removed their pid files"
echo "check_isolation: passed"
