#!/usr/bin/env bash
# Backup of a database with 100,000 spend-log rows (issue 12): time, archive size, and whether
# the gateway kept answering while it ran (a poller every 100 ms through nginx).
#
#   bench/backup.sh [ROWS]      (default 100000; needs `bash ci/setup.sh` done)
#
# The stack runs LiteLLM on its real Postgres (the DB image). The rows are copies of one real
# spend row that LiteLLM itself wrote for a chat through nginx, each with its own request id.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
. bench/lib.sh
bench_answers "$LST_IMAGE_LITELLM"
cleanup() {
  stop_poller
  "$bin" uninstall --purge --yes --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" install --answers "$work/answers.yaml" --yes >/dev/null
env_value() { sed -n "s/^$1=//p" "$dir/.env" | tr -d '"'; }
master=$(env_value LITELLM_MASTER_KEY)
pg_user=$(env_value POSTGRES_USER); pg_db=$(env_value POSTGRES_DB)
pg=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=postgres")
psql() { docker exec -i "$pg" psql -v ON_ERROR_STOP=1 -qtA -U "$pg_user" -d "$pg_db" "$@"; }

# One real spend row: a chat through nginx, then LiteLLM's batch writer.
curl -fsS -o /dev/null -H "Authorization: Bearer $master" -H 'Content-Type: application/json' \
  -d '{"model":"smoke-test","messages":[{"role":"user","content":"ping"}]}' \
  "http://127.0.0.1:$nginx_port/v1/chat/completions"
for _ in $(seq 1 120); do
  [ "$(psql -c 'SELECT count(*) FROM "LiteLLM_SpendLogs"')" -gt 0 ] && break
  sleep 1
done
[ "$(psql -c 'SELECT count(*) FROM "LiteLLM_SpendLogs"')" -gt 0 ] || { echo "no spend row after 120 s" >&2; exit 1; }
# jit off: the test image's Postgres (Debian's package) has no LLVM for a query this big.
psql <<SQL
SET jit = off;
CREATE TEMP TABLE tpl AS SELECT * FROM "LiteLLM_SpendLogs" LIMIT 1;
INSERT INTO "LiteLLM_SpendLogs"
  SELECT (json_populate_record(tpl, json_build_object('request_id', 'bench-' || g))).*
  FROM tpl, generate_series(1, $rows) g;
SQL
total_rows=$(psql -c 'SELECT count(*) FROM "LiteLLM_SpendLogs"')
db_size=$(psql -c "SELECT pg_size_pretty(pg_database_size('$pg_db'))")
echo "spend rows: $total_rows (database $db_size)"

# The poller: one request every 100 ms through nginx; a line per failure.
log="$work/poll.log"
start_poller "$log" 0.1
sleep 1
t0=$(date +%s.%N)
"$bin" backup --dir "$dir" >/dev/null
t1=$(date +%s.%N)
sleep 1
stop_poller
archive=$(find "$dir/backups" -maxdepth 1 -name 'litellm-backup-*.tar.gz' -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
python3 - "$t0" "$t1" "$archive" "$log" <<'PY'
import os, sys
t0, t1, archive, log = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
polls = [l.split() for l in open(log)]
during = [p for p in polls if t0 <= float(p[0]) <= t1]
failed = [p for p in during if p[1] != "200"]
print(f"backup: {t1 - t0:.2f} s, archive {os.path.getsize(archive) / 2**20:.1f} MiB ({os.path.basename(archive)})")
print(f"poller during the backup: {len(during)} requests, {len(failed)} failed (target 0: {'ok' if not failed else 'MISSED'})")
PY
