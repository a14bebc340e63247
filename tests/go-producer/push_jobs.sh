#!/usr/bin/env bash
# What the Go Linda's example/push_jobs writes, with redis-cli: the job's record under
# linda:job:<id>:info (the Go Job marshalled by encoding/json) and its id RPUSHed to queue:<queue>.
# usage: push_jobs.sh PORT [ID] [QUEUE]
set -euo pipefail
port=$1
id=${2:-1}
queue=${3:-test}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
record=$(printf '{"id":"%s","queue":"%s","period":60,"retry":3,"created_at":"%s","payload":{"class":"printArgs","args":["a","b","c"]},"state":{"run_times":0,"last_run_at":"0001-01-01T00:00:00Z","retries":0}}' "$id" "$queue" "$now")
redis-cli -p "$port" SET "linda:job:$id:info" "$record" >/dev/null
redis-cli -p "$port" RPUSH "queue:$queue" "$id" >/dev/null
echo "pushed $id to queue:$queue"
