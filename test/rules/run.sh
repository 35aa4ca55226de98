#!/usr/bin/env bash
# Checks the Prometheus rule files of the ansible prometheus role and the
# users' rules in monitoring/ (test/rules/monitoring.sh), and runs their unit
# tests. Exits non-zero when a check or a test fails, when an alert has no unit
# test, when a recording rule for the secondaries is not named federate:*, or
# when an alert and its section of docs/runbooks.md do not match (runbooks.sh).
#   test/rules/run.sh            (PROMTOOL=/path/to/promtool to pick one)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rules_dir=$(cd "$here/../../ansible/roles/prometheus/files/rules" && pwd)
promtool=${PROMTOOL:-promtool}

if ! command -v "$promtool" >/dev/null 2>&1; then
  echo "promtool not found (apt-get install prometheus, or set PROMTOOL)" >&2
  exit 2
fi

shopt -s nullglob
rule_files=("$rules_dir"/*.yml)
test_files=("$here"/*_test.yml)
if ((${#rule_files[@]} == 0 || ${#test_files[@]} == 0)); then
  echo "no rule files in $rules_dir or no *_test.yml in $here" >&2
  exit 2
fi

passed=0
failed=0

record() { # record NAME COMMAND...: run a check and count it
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name" >&2
  fi
}

for f in "${rule_files[@]}"; do
  record "check rules $(basename "$f")" "$promtool" check rules "$f"
done

# promtool resolves rule_files relative to the test file.
for f in "${test_files[@]}"; do
  record "test rules $(basename "$f")" "$promtool" test rules "$f"
done

# Every alert defined in the role must appear in a unit test.
untested() {
  local alert missing=0
  while read -r alert; do
    if ! grep -qE "alertname:[[:space:]]*${alert}[[:space:]]*$" "${test_files[@]}"; then
      echo "alert without a unit test: $alert" >&2
      missing=1
    fi
  done < <(sed -nE 's/^[[:space:]]*-?[[:space:]]*alert:[[:space:]]*([A-Za-z0-9_]+).*/\1/p' "${rule_files[@]}" | sort -u)
  return "$missing"
}
record "every alert has a unit test" untested

# The users' rules: monitoring/ at the root of the repository.
MON_ROOT=$(cd "$here/../.." && pwd)
mon_dir=$MON_ROOT/monitoring
# shellcheck source=test/rules/monitoring.sh
. "$here/monitoring.sh"
mapfile -t mon_rules < <(mon_secondary_files "$mon_dir"; mon_primary_files "$mon_dir")
mapfile -t mon_tests < <(mon_test_files "$mon_dir")
for f in "${mon_rules[@]}"; do
  record "check rules $(mon_show "$f")" "$promtool" check rules "$f"
done
for f in "${mon_tests[@]}"; do
  record "test rules $(mon_show "$f")" "$promtool" test rules "$f"
done
record "monitoring: every recording rule for the secondaries is named federate:*" mon_federate_names "$mon_dir"
record "monitoring: no alerting rule on the secondaries" mon_no_alerts_on_secondaries "$mon_dir"
record "monitoring: every alert has a unit test" mon_alerts_tested "$mon_dir"
record "monitoring: the federate:* check refuses a badly named rule" mon_selector_check_fails

# A runbook for every alert (docs/runbooks.md, "## Alerts"): every alerting
# rule, the stack's and the shipped examples in monitoring/alerting, carries
# runbook_url: "docs/runbooks.md#<alert in lower case>", the GitHub anchor of
# its "### <Alert>" section there; every such section names an alert.
# shellcheck source=test/rules/runbooks.sh
. "$here/runbooks.sh"
runbooks=$MON_ROOT/docs/runbooks.md
record "runbooks: every alert has runbook_url and a section in docs/runbooks.md, every section an alert" \
  rb_check "$runbooks" "${rule_files[@]}" "${mon_rules[@]}"
record "runbooks: the check refuses an alert without a section" rb_selftest_alert_without_section
record "runbooks: the check refuses a section without an alert" rb_selftest_section_without_alert
record "runbooks: the check refuses an alert without runbook_url" rb_selftest_alert_without_url
record "runbooks: the check refuses a runbook_url to an unknown section" rb_selftest_unknown_anchor

echo "rules: $passed passed, $failed failed"
((failed == 0))
