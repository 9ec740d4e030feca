#!/usr/bin/env bash
# Starts REAPI servers built by scripts/reapi-servers.sh, for real use:
#
#   scripts/reapi-start.sh bazel-remote DIR PORT
#       bazel-remote (CAS + AC, no execution) with its data in DIR/data,
#       gRPC on 127.0.0.1:PORT, HTTP on 127.0.0.1:PORT+1.
#   scripts/reapi-start.sh buildbarn DIR PORT
#       bb_storage (CAS + AC + Execute frontend) on 127.0.0.1:PORT,
#       bb_scheduler on PORT+1 (clients) and PORT+2 (workers), bb_runner on
#       the UNIX socket DIR/worker/runner.sock, and bb_worker; state in DIR,
#       logs in DIR/logs/<name>.log.
#
# Both run in the foreground and print `ready grpc://127.0.0.1:PORT` on
# stdout once the gRPC port accepts connections. SIGTERM or SIGINT stops
# every server they started (SIGKILL after 3 s). Environment:
#   REAPI_BIN              binaries (default: target/reapi-servers/bin of
#                          this checkout)
#   BAZEL_REMOTE_MAX_GB    bazel-remote's --max_size (default 4)
#   BB_WORKER_CONCURRENCY  Buildbarn worker slots (default 2)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIND=${1:?usage: $0 bazel-remote|buildbarn DIR PORT}
DIR=${2:?usage: $0 $KIND DIR PORT}
PORT=${3:?usage: $0 $KIND DIR PORT}
BIN=${REAPI_BIN:-$ROOT/target/reapi-servers/bin}
mkdir -p "$DIR/logs"
DIR=$(cd "$DIR" && pwd)

PIDS=()
# stop_all: SIGTERM to every server started, SIGKILL to those left after 3 s.
stop_all() {
  local pid
  [ ${#PIDS[@]} -gt 0 ] || return 0
  kill -TERM "${PIDS[@]}" 2>/dev/null || true
  for _ in $(seq 30); do
    alive "${PIDS[@]}" || return 0
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
# alive PID...: true while any of them runs.
alive() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# spawn NAME COMMAND...: starts one server in the background, logging.
spawn() {
  local name=$1
  shift
  "$@" >"$DIR/logs/$name.log" 2>&1 &
  PIDS+=($!)
}

# wait_port PORT: until 127.0.0.1:PORT accepts TCP connections (30 s).
wait_port() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "reapi-start: nothing listens on port $1; logs in $DIR/logs" >&2
  exit 1
}

start_bazel_remote() {
  mkdir -p "$DIR/data"
  spawn bazel-remote "$BIN/bazel-remote" --dir "$DIR/data" \
    --max_size "${BAZEL_REMOTE_MAX_GB:-4}" \
    --grpc_address "127.0.0.1:$PORT" --http_address "127.0.0.1:$((PORT + 1))"
  wait_port "$PORT"
}

start_buildbarn() {
  local conf=$ROOT/scripts/buildbarn
  mkdir -p "$DIR/storage/cas-state" "$DIR/storage/ac-state" \
    "$DIR/worker/build" "$DIR/worker/cache"
  export BB_DIR=$DIR BB_STORAGE_PORT=$PORT \
    BB_SCHEDULER_CLIENT_PORT=$((PORT + 1)) BB_SCHEDULER_WORKER_PORT=$((PORT + 2)) \
    BB_WORKER_CONCURRENCY=${BB_WORKER_CONCURRENCY:-2}
  rm -f "$DIR/worker/runner.sock"
  spawn bb_storage "$BIN/bb_storage" "$conf/storage.jsonnet"
  spawn bb_scheduler "$BIN/bb_scheduler" "$conf/scheduler.jsonnet"
  spawn bb_runner "$BIN/bb_runner" "$conf/runner.jsonnet"
  wait_port "$PORT"
  wait_port "$BB_SCHEDULER_WORKER_PORT"
  spawn bb_worker "$BIN/bb_worker" "$conf/worker.jsonnet"
}

case $KIND in
bazel-remote) start_bazel_remote ;;
buildbarn) start_buildbarn ;;
*) echo "reapi-start: unknown server $KIND" >&2; exit 2 ;;
esac
echo "ready grpc://127.0.0.1:$PORT"
# Stay in the foreground until a server exits or we are told to stop.
wait -n "${PIDS[@]}" || true
echo "reapi-start: a server exited; logs in $DIR/logs" >&2
exit 1
