#!/usr/bin/env bash
# Search over HTTP (issue 7): `molt serve` (release build) on a search corpus,
# loaded by wrk on loopback with many distinct queries.
#
#   bench/search_http.sh CORPUS_DIR [THREADS] [CONNECTIONS] [SECONDS]
#
# CORPUS_DIR is a data directory made by `molt bench corpus`. Two runs, one
# server: COLD, 20,000 distinct queries (more than the 4,096 query vectors the
# service remembers, so no query is repeated before its vector is forgotten:
# every vector ranking embeds its query), then WARM, 1,000 distinct queries
# after one unmeasured pass over them (their vectors are remembered, as for
# popular queries). Same mix as `molt bench search`.
#
# Rate limits are switched off for this server only
# (MOLT_SEARCH__RATE_PER_MINUTE_ANONYMOUS=0): every request comes from
# 127.0.0.1, so the anonymous tier's 60 a minute would answer 429 to nearly all
# of them. The Lua script counts every non-2xx response, so a 429 or an error
# cannot pass as throughput. Pipeline workers are off (--no-workers); search,
# its index pass before each query and the query log (one write per query) are on.
set -euo pipefail

corpus=${1:?usage: bench/search_http.sh CORPUS_DIR [THREADS] [CONNECTIONS] [SECONDS]}
threads=${2:-2}
connections=${3:-64}
seconds=${4:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
models=${SEARCH_BENCH_MODELS:-$root/molt-data/models}
port=${SEARCH_BENCH_PORT:-18707}
work=$(mktemp -d)
server_pid=

stop() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
# SEARCH_BENCH_BIN: an already built binary (skips the build). Not MOLT_*: molt reads those as configuration.
if [[ -z ${SEARCH_BENCH_BIN:-} ]]; then
  (cd "$root" && cargo build --release -p molt --locked)
fi
molt=${SEARCH_BENCH_BIN:-$root/target/release/molt}
export MOLT_DATA_DIR=$corpus MOLT_WHISPER__MODEL_DIR=$models MOLT_LOG=warn
export MOLT_SEARCH__RATE_PER_MINUTE_ANONYMOUS=0

"$molt" bench search --data "$corpus" --queries 20000 --seed 11 --write-queries "$work/cold.txt"
"$molt" bench search --data "$corpus" --queries 1000 --seed 12 --write-queries "$work/warm.txt"

"$molt" serve --no-workers --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/ready" >/dev/null
# Loads the model and builds the vector snapshot before anything is measured.
curl -fsS -o /dev/null "http://127.0.0.1:$port/api/v1/search?q=warm%20up"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $threads threads, $connections connections, ${seconds} s"
echo "== cold: 20,000 distinct queries =="
SEARCH_BENCH_QUERIES=$work/cold.txt wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency \
  -s "$root/bench/search_queries.lua" "http://127.0.0.1:$port"
echo "== warm: 1,000 distinct queries, after one unmeasured pass =="
xargs -P 4 -I{} curl -fsS -o /dev/null "http://127.0.0.1:$port{}" <"$work/warm.txt"
SEARCH_BENCH_QUERIES=$work/warm.txt wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency \
  -s "$root/bench/search_queries.lua" "http://127.0.0.1:$port"
