#!/usr/bin/env bash
# The whole test suite: what `npm test` runs and what CI runs. Builds (or reuses) the test control
# plane and the Kulta controller, runs the quality gates, every test on this Node (20), the unit tests
# again on Node 24, and ends with one line `N passed, N failed` counting tests and gates.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
cache=${NOPEA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nopea}
NODE24_VERSION=24.21.0

gates_passed=0
gates_failed=0
failed_gates=()
gate() {
  local name=$1
  shift
  echo "::group::$name"
  if "$@"; then
    echo "✓ $name"
    gates_passed=$((gates_passed + 1))
  else
    echo "✗ $name failed"
    gates_failed=$((gates_failed + 1))
    failed_gates+=("$name")
  fi
  echo "::endgroup::"
}

node24() {
  local dir="$cache/node-$NODE24_VERSION"
  if [ ! -x "$dir/node_modules/.bin/node" ]; then
    mkdir -p "$dir"
    npm install --silent --no-save --no-audit --no-fund --prefix "$dir" "node@$NODE24_VERSION" >&2 || return 1
  fi
  echo "$dir/node_modules/.bin/node"
}

echo "node $(node --version) on $(uname -sm)"
# The control plane must exist before the integration tests; a build failure fails the run loudly.
gate "control plane build (cached)" bash test/cluster/build.sh
# Tests that render kustomizations use the kubectl built with the control plane, never one on PATH.
bindir=$(bash test/cluster/build.sh 2>/dev/null | tail -n 1)
export NOPEA_TEST_KUBECTL="$bindir/kubectl"
# The real Kulta controller (cargo, cached by a hash of ../shared/kulta/source; a cold build takes
# 8-25 minutes on two cores). The integration tests' global setup runs this binary against the cluster.
gate "Kulta build (cached)" bash test/cluster/build-kulta.sh
if kulta_bin=$(bash test/cluster/build-kulta.sh 2>/dev/null | tail -n 1) && [ -x "$kulta_bin" ]; then
  export NOPEA_KULTA_BIN="$kulta_bin"
fi
gate "typecheck" npx tsc --noEmit
gate "lint" npx eslint .
gate "format" npx prettier --check .
gate "import rules (no circles, no arrows back up)" npx depcruise src --config dependency-cruiser.config.mjs --output-type err
gate "dist is up to date" node scripts/build.mjs --check

echo "::group::tests on Node $(node --version)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/node20.json"
echo "::endgroup::"

# The Action runs on node24: its tests (and the packed CLI's) run there too, with every unit test.
echo "::group::unit, Action and package tests on Node $NODE24_VERSION"
if N24=$(node24); then
  "$N24" node_modules/vitest/vitest.mjs run test/unit test/integration/action test/integration/package.test.ts \
    --reporter=default --reporter=json --outputFile.json="$results/node24.json"
else
  echo "could not install node@$NODE24_VERSION from the npm registry"
  gates_failed=$((gates_failed + 1))
  failed_gates+=("install node@$NODE24_VERSION")
fi
echo "::endgroup::"

# What failed is listed just above the count, so that the end of a long log says it.
node --input-type=module - "$results" "$gates_passed" "$gates_failed" "${failed_gates[@]}" <<'JS'
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
const [dir, gp, gf, ...failedGates] = process.argv.slice(2);
let passed = Number(gp);
let failed = Number(gf);
const lines = failedGates.map((g) => `✗ gate: ${g}`);
const expected = ['node20.json', 'node24.json'];
for (const name of expected) {
  let r;
  try {
    r = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  } catch {
    lines.push(`✗ no results from the ${name.replace(".json", "")} run (the runner crashed)`);
    failed += 1;
    continue;
  }
  passed += r.numPassedTests;
  // Skipped or todo tests count as failures: CI runs every test.
  failed += r.numFailedTests + r.numPendingTests + r.numTodoTests;
  const run = name.replace('.json', '');
  for (const file of r.testResults) {
    const path = relative(process.cwd(), file.name);
    // A test file that cannot load has no tests to count; count the file.
    if (file.status === 'failed' && file.assertionResults.length === 0) {
      failed += 1;
      lines.push(`✗ ${run} ${path}: ${firstLine(file.message)}`);
    }
    for (const t of file.assertionResults) {
      if (t.status === 'passed') continue;
      const why = t.status === 'failed' ? firstLine(t.failureMessages?.[0]) : t.status;
      lines.push(`✗ ${run} ${path} > ${t.fullName}: ${why}`);
    }
  }
}
function firstLine(text) {
  const line = String(text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
if (lines.length > 0) console.log(['failed:', ...lines].join('\n'));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
JS
