# shellcheck shell=bash
# Checks of the users' rules in monitoring/ (see monitoring/README.md), sourced
# by test/rules/run.sh, which counts each check. Every function takes the
# monitoring folder as its first argument, prints what is wrong on stderr and
# returns non-zero when something is.
#
# The selector of the federation: the primary pulls only these series from
# the secondaries (ansible/roles/prometheus/templates/prometheus.yml.j2).
mon_selector='{__name__=~"federate:.+"}'

mon_show() { # mon_show FILE: the path as the user knows it (monitoring/...)
  local f=$1
  printf '%s' "${f#"${MON_ROOT:-}"/}"
}

mon_secondary_files() { # mon_secondary_files DIR: rule files the secondaries load, one a line
  local f
  for f in "$1"/recording/*.yml "$1"/recording/*.yaml "$1"/shards/*/*.yml "$1"/shards/*/*.yaml; do
    if [[ -f $f ]]; then printf '%s\n' "$f"; fi
  done
}

mon_primary_files() { # mon_primary_files DIR: rule files the primary loads, one a line
  local f
  for f in "$1"/alerting/*.yml "$1"/alerting/*.yaml; do
    if [[ -f $f ]]; then printf '%s\n' "$f"; fi
  done
}

mon_test_files() { # mon_test_files DIR: promtool unit test files, one a line
  local f
  for f in "$1"/tests/*_test.yml "$1"/tests/*_test.yaml; do
    if [[ -f $f ]]; then printf '%s\n' "$f"; fi
  done
}

# mon_names FILE KIND: the names of FILE's rules of KIND (record or alert),
# one a line. Rules are written in block style (- record: name).
mon_names() {
  sed -nE "s/^[[:space:]]*(-[[:space:]]+)?$2:[[:space:]]*[\"']?([^\"'[:space:]#]+).*/\\2/p" "$1"
}

# Every recording rule for the secondaries is named federate:*, or the
# primary never receives it.
mon_federate_names() { # mon_federate_names DIR
  local f name bad=0
  while read -r f; do
    while read -r name; do
      if [[ ! $name =~ ^federate:.+ ]]; then
        echo "$(mon_show "$f"): recording rule $name is not named federate:*, so the primary would never receive it (the federation selector is $mon_selector)" >&2
        bad=1
      fi
    done < <(mon_names "$f" record)
  done < <(mon_secondary_files "$1")
  return "$bad"
}

# The secondaries send no alerts (only the primary talks to Alertmanager).
mon_no_alerts_on_secondaries() { # mon_no_alerts_on_secondaries DIR
  local f name bad=0
  while read -r f; do
    while read -r name; do
      echo "$(mon_show "$f"): alerting rule $name would be evaluated on the secondaries, which send no alerts; put it in monitoring/alerting/ over federate:* series" >&2
      bad=1
    done < <(mon_names "$f" alert)
  done < <(mon_secondary_files "$1")
  return "$bad"
}

# Every alert for the primary appears in a unit test.
mon_alerts_tested() { # mon_alerts_tested DIR
  local f name bad=0 tests=()
  mapfile -t tests < <(mon_test_files "$1")
  while read -r f; do
    while read -r name; do
      if ((${#tests[@]} == 0)) || ! grep -qE "alertname:[[:space:]]*[\"']?${name}[\"']?[[:space:]]*$" "${tests[@]}"; then
        echo "$(mon_show "$f"): alert $name has no unit test in $(mon_show "$1")/tests/*_test.yml" >&2
        bad=1
      fi
    done < <(mon_names "$f" alert)
  done < <(mon_primary_files "$1")
  return "$bad"
}

# The selector check must refuse a badly named rule, in recording/ and in a
# shard's folder, and accept a good one.
mon_selector_check_fails() { # mon_selector_check_fails
  local tmp out rc=0
  tmp=$(mktemp -d)
  mkdir -p "$tmp/recording" "$tmp/shards/apps"
  printf 'groups:\n  - name: g\n    rules:\n      - record: federate:up:sum\n        expr: sum(up)\n' >"$tmp/recording/good.yml"
  printf 'groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum(up)\n' >"$tmp/recording/bad.yml"
  printf 'groups:\n  - name: g\n    rules:\n      - record: "apps:up:sum"\n        expr: sum(up)\n' >"$tmp/shards/apps/bad.yml"
  if out=$(mon_federate_names "$tmp" 2>&1); then
    echo "the selector check passed rules not named federate:*" >&2
    rc=1
  fi
  local want
  for want in "recording/bad.yml: recording rule job:up:sum is not named federate:*" \
    "shards/apps/bad.yml: recording rule apps:up:sum is not named federate:*"; do
    if [[ $out != *"$want"* ]]; then
      echo "the selector check did not report: $want" >&2
      rc=1
    fi
  done
  if [[ $out == *good.yml* ]]; then
    echo "the selector check refused a rule named federate:*: $out" >&2
    rc=1
  fi
  rm -rf "$tmp"
  return "$rc"
}
