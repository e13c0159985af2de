#!/usr/bin/env bash
# The built-in demo: a real deploy into the local test cluster, with a local state repository.
# Starts the cluster and Kulta (building them from Go modules and with cargo on first use), syncs
# fixtures/demo, changes the app, shows the plan, syncs again, corrects drift, deploys a canary that
# waits at a gate, promotes it, and prints the history and the state branch nopea wrote.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli.js ] || npm run -s build

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi

say "Starting the local Kubernetes cluster (the first run builds it from Go modules and Kulta with cargo: about 15 minutes)"
env_lines=$(node --import tsx test/cluster/cli.ts up | tail -n 2)
KUBECTL=$(printf '%s\n' "$env_lines" | sed -n 's/^KUBECTL=//p')
KUBECONFIG=$(printf '%s\n' "$env_lines" | sed -n 's/^KUBECONFIG=//p')
export KUBECONFIG
nopea() { node "$here/dist/cli.js" "$@" --kubectl "$KUBECTL"; }
nopea_state() { node "$here/dist/cli.js" "$@"; } # commands that take no --kubectl
# A demo run before this one left its app (a Rollout by now) in the cluster: start from nothing.
"$KUBECTL" delete namespace nopea-demo --ignore-not-found --wait=true >/dev/null

demo=$(mktemp -d "${TMPDIR:-/tmp}/nopea-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT
git init -q --bare "$demo/origin.git"
git clone -q "$demo/origin.git" "$demo/app" 2>/dev/null
cp -R fixtures/demo/. "$demo/app/"
cd "$demo/app"
git add . && git -c user.name=demo -c user.email=demo@nopea.local commit -qm "demo app v1"
git push -q origin HEAD:main

say "nopea diff: what a first deploy would do"
nopea diff || true
say "nopea sync: apply, wait until healthy, record the deploy on the nopea-state branch"
nopea sync

say "Changing the app in git: new image, new config value"
sed -i.bak 's|demo/web:v1|demo/web:v2|' app/web.yaml && rm app/web.yaml.bak
sed -i.bak 's|LOG_LEVEL: info|LOG_LEVEL: debug|' app/config.yaml && rm app/config.yaml.bak
git -c user.name=demo -c user.email=demo@nopea.local commit -qam "demo app v2" && git push -q origin HEAD:main

say "nopea diff --exit-code: the change, field by field (exit 3 = changes pending)"
set +e; nopea diff --exit-code; code=$?; set -e
echo "(exit code $code)"
say "nopea sync: apply the change"
nopea sync

say "Someone edits the cluster by hand; nopea sees it as drift and puts it back"
"$KUBECTL" -n nopea-demo scale deployment/web --replicas=3 >/dev/null
nopea diff || true
nopea sync

say "A canary through Kulta: v3 goes to half of the replicas and waits at a manual gate"
sed -i.bak 's|demo/web:v2|demo/web:v3|' app/web.yaml && rm app/web.yaml.bak
git -c user.name=demo -c user.email=demo@nopea.local commit -qam "demo app v3" && git push -q origin HEAD:main
# The sync blocks at the gate (in CI, the step is the monitor) until --timeout, then exits 4: paused.
set +e; nopea sync --strategy canary --canary-steps 50:gate,100 --timeout 15s; code=$?; set -e
echo "(exit code $code: 4 = the rollout waits at a gate for nopea promote or nopea rollback)"
"$KUBECTL" -n nopea-demo get rollouts.kulta.io,replicasets,services
say "nopea status: the deploy is recorded as paused"
nopea_state status demo
say "nopea promote: pass the gate (in CI, a workflow_dispatch run) and watch the rollout to its end"
nopea_state promote -s demo
say "nopea history: every deploy, its strategy and outcome"
nopea_state history demo

say "The state branch: one commit per deploy"
git fetch -q origin nopea-state
git log --format='  %h %s' FETCH_HEAD
git ls-tree -r --name-only FETCH_HEAD | sed 's/^/  /'
say "Done. The demo app stays in namespace nopea-demo; \`npm run cluster:down\` stops the cluster."
