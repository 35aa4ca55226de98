# shellcheck shell=bash
# A runbook for every alert, sourced by test/rules/run.sh, which counts each
# check. docs/runbooks.md holds one "### <AlertName>" section per alert under
# its "## Alerts" heading; every alerting rule carries the annotation
#   runbook_url: "docs/runbooks.md#<alertname in lower case>"
# (the anchor GitHub gives that heading). Functions print what is wrong on
# stderr and return non-zero when something is.

# rb_anchor: the GitHub anchor of each heading read on stdin, one a line
# (lower case, punctuation dropped, spaces to "-").
rb_anchor() {
  tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

# rb_sections RUNBOOKS: the titles of the "### " sections under "## Alerts".
rb_sections() {
  awk '/^## / { inside = ($0 ~ /^## Alerts[[:space:]]*$/); next }
       inside && /^### / { sub(/^###[[:space:]]+/, ""); sub(/[[:space:]]+$/, ""); print }' "$1"
}

# rb_alerts FILE...: "FILE<TAB>ALERT<TAB>RUNBOOK_URL" per alerting rule, the
# URL "-" when the rule has none. Rules are written in block style.
rb_alerts() {
  awk -v OFS='\t' '
    function flush() { if (alert != "") print file, alert, (url == "" ? "-" : url); alert = ""; url = "" }
    FNR == 1 { flush(); file = FILENAME }
    /^[[:space:]]*-[[:space:]]+(alert|record|name):/ {
      flush()
      if ($0 ~ /^[[:space:]]*-[[:space:]]+alert:/) {
        a = $0; sub(/^[[:space:]]*-[[:space:]]+alert:[[:space:]]*/, "", a)
        gsub(/["\047]/, "", a); sub(/[[:space:]#].*/, "", a); alert = a
      }
    }
    /^[[:space:]]*runbook_url:/ {
      u = $0; sub(/^[[:space:]]*runbook_url:[[:space:]]*/, "", u)
      gsub(/["\047]/, "", u); sub(/[[:space:]]+$/, "", u); url = u
    }
    END { flush() }' "$@"
}

# rb_check RUNBOOKS FILE...: every alert of FILE... has runbook_url pointing at
# its own section, which exists once in RUNBOOKS; every section under
# "## Alerts" names an alert of FILE...; no rule keeps the old "runbook:".
rb_check() {
  local runbooks=$1 bad=0 file alert url want n sections anchors alerts
  shift
  sections=$(rb_sections "$runbooks")
  anchors=$(sed -nE 's/^#+[[:space:]]+//p' "$runbooks" | rb_anchor)
  alerts=$(rb_alerts "$@")
  while IFS=$'\t' read -r file alert url; do
    [[ -n $alert ]] || continue
    want="docs/runbooks.md#$(rb_anchor <<<"$alert")"
    if [[ $url == - ]]; then
      echo "${file#"${MON_ROOT:-}"/}: alert $alert has no runbook_url annotation (want runbook_url: \"$want\")" >&2
      bad=1
    elif [[ $url != "$want" ]]; then
      echo "${file#"${MON_ROOT:-}"/}: alert $alert: runbook_url is $url, want $want" >&2
      bad=1
    fi
    if ! grep -qxF "$alert" <<<"$sections"; then
      echo "alert $alert has no section \"### $alert\" under \"## Alerts\" in docs/runbooks.md" >&2
      bad=1
    else
      n=$(grep -cxF "${want#*#}" <<<"$anchors" || true)
      if ((n != 1)); then
        echo "docs/runbooks.md: $n headings have the anchor ${want#*#}; the link of alert $alert needs exactly one" >&2
        bad=1
      fi
    fi
  done <<<"$alerts"
  while read -r n; do
    [[ -n $n ]] || continue
    if ! cut -f2 <<<"$alerts" | grep -qxF "$n"; then
      echo "docs/runbooks.md: section \"### $n\" under \"## Alerts\" names no alert" >&2
      bad=1
    fi
  done <<<"$sections"
  if grep -nE '^[[:space:]]*runbook:' "$@" >&2; then
    echo "the annotation is runbook_url, not runbook (the lines above)" >&2
    bad=1
  fi
  return "$bad"
}

# Self-tests: a fixture that passes, then one fault at a time, each of which
# must fail with its message. rb_selftest FAULT WANT: WANT is part of the output.
rb_fixture() { # rb_fixture DIR: a runbooks.md and a rule file that match
  printf '# Runbooks\n## Reach a host\n## Alerts\n### FooDown\ntext\n### BarHigh\n## Other\n' >"$1/runbooks.md"
  printf 'groups:\n  - name: g\n    rules:\n      - alert: FooDown\n        expr: up == 0\n        annotations:\n          runbook_url: "docs/runbooks.md#foodown"\n      - alert: BarHigh\n        expr: bar > 1\n        annotations:\n          summary: "bar"\n          runbook_url: docs/runbooks.md#barhigh\n' >"$1/a.yml"
}
rb_selftest() { # rb_selftest SED_FILE SED_SCRIPT WANT
  local tmp out rc=0
  tmp=$(mktemp -d)
  rb_fixture "$tmp"
  if ! out=$(rb_check "$tmp/runbooks.md" "$tmp/a.yml" 2>&1); then
    echo "the runbook check refused its good fixture: $out" >&2
    rc=1
  fi
  sed -i -E "$2" "$tmp/$1"
  if out=$(rb_check "$tmp/runbooks.md" "$tmp/a.yml" 2>&1); then
    echo "the runbook check passed a fault ($1: $2)" >&2
    rc=1
  elif [[ $out != *"$3"* ]]; then
    echo "the runbook check did not report \"$3\": $out" >&2
    rc=1
  fi
  rm -rf "$tmp"
  return "$rc"
}
rb_selftest_alert_without_section() {
  rb_selftest runbooks.md '/^### BarHigh$/d' 'alert BarHigh has no section'
}
rb_selftest_section_without_alert() {
  rb_selftest runbooks.md 's/^### BarHigh$/### BarHigh\ntext\n### BazLow/' 'section "### BazLow" under "## Alerts" names no alert'
}
rb_selftest_alert_without_url() {
  rb_selftest a.yml '/runbook_url: docs\/runbooks.md#barhigh/d' 'alert BarHigh has no runbook_url annotation'
}
rb_selftest_unknown_anchor() {
  rb_selftest a.yml 's/#foodown/#no-such-section/' 'alert FooDown: runbook_url is docs/runbooks.md#no-such-section'
}
