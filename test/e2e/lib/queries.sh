# shellcheck shell=bash
# The example queries `make demo` prints. The suite runs each against the primary and
# fails when one returns nothing, so what a new user is told to try always answers.
# Each entry: "what it shows|the PromQL".
# shellcheck disable=SC2034 # read by demo.sh and verify.sh
DEMO_QUERIES=(
  "availability of each shard's jobs, federated from the secondaries|federate:service_availability:ratio"
  "targets up per shard and job|sum by (shard, job) (federate:up:max)"
  "alerts firing now (0 when none)|count(ALERTS{alertstate=\"firing\"}) or vector(0)"
)

# demo_query_text N: the PromQL of entry N; demo_query_what N: what it shows.
demo_query_text() { printf '%s' "${DEMO_QUERIES[$1]#*|}"; }
demo_query_what() { printf '%s' "${DEMO_QUERIES[$1]%%|*}"; }
