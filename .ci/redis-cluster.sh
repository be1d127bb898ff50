#!/usr/bin/env bash
# A local Redis Cluster for the tests and for developers: three masters and three replicas on
# 127.0.0.1:7000-7005, nothing persisted. The tests find it at REDIS_CLUSTER_NODES (default
# 127.0.0.1:7000).
#
#   .ci/redis-cluster.sh start   # idempotent: does nothing when 7000 already answers
#   .ci/redis-cluster.sh stop    # shuts the six nodes down and removes their files
#
# REDIS_CLUSTER_DIR (default /tmp/bbm-redis-cluster) holds each node's nodes.conf and working dir.
set -euo pipefail

DIR="${REDIS_CLUSTER_DIR:-/tmp/bbm-redis-cluster}"
PORTS=(7000 7001 7002 7003 7004 7005)

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if answers 7000; then
    echo "redis cluster: something already answers on 127.0.0.1:7000; leaving it"
    return 0
  fi
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
    echo "redis cluster: redis-server and redis-cli are needed (apt-get install redis-server)" >&2
    return 1
  }
  rm -rf "$DIR"
  for port in "${PORTS[@]}"; do
    mkdir -p "$DIR/$port"
    redis-server --port "$port" --cluster-enabled yes --cluster-config-file "$DIR/nodes-$port.conf" \
      --save "" --appendonly no --daemonize yes --bind 127.0.0.1 --dir "$DIR/$port" \
      --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid"
  done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do answers "$port" && break; sleep 0.1; done
    answers "$port" || { echo "redis cluster: node $port did not start (see $DIR/$port/redis.log)" >&2; return 1; }
  done
  local nodes=()
  for port in "${PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log"
  # Bounded wait (30 s) for every slot to be served.
  for _ in $(seq 1 300); do
    if redis-cli -p 7000 cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
      echo "redis cluster: ready on 127.0.0.1:7000-7005"
      return 0
    fi
    sleep 0.1
  done
  echo "redis cluster: cluster_state is not ok after 30 s (see $DIR/create.log)" >&2
  return 1
}

stop() {
  for port in "${PORTS[@]}"; do
    answers "$port" && redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$DIR"
  echo "redis cluster: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
