/**
 * The `kubeconfig` input holds a kubeconfig's content (typically a secret). It is written to a file only
 * the runner's user can read, in RUNNER_TEMP, removed when the run ends; the credentials in it are
 * registered as secrets so the runner masks them, line by line, wherever they would appear in the log.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * Keys whose values are credentials (user entries, auth-provider and exec configs). A cluster's
 * `proxy-url` is not one, but the password in it is (see proxyPasswords).
 */
const CREDENTIAL_KEYS = new Set([
  'token',
  'client-key-data',
  'client-certificate-data',
  'password',
  'client-secret',
  'id-token',
  'refresh-token',
  'access-token',
]);

/** The password in a cluster's `proxy-url` (`http://user:password@proxy:3128`), as written and decoded. */
function proxyPasswords(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  if (!url.password) return [];
  let decoded = url.password;
  try {
    decoded = decodeURIComponent(url.password);
  } catch {
    // Not percent-encoded as it should be: the text as written is what would show.
  }
  return [...new Set([url.password, decoded])];
}

const LINE = /^\s*(?:-\s+)?["']?([A-Za-z-]+)["']?\s*:\s*(.*?)\s*,?\s*$/;

function unquote(v: string): string {
  const m = /^(["'])(.*)\1$/.exec(v);
  return m ? m[2]! : v;
}

/**
 * The credential values in a kubeconfig, each line of a multi-line value on its own (the runner masks
 * line by line). Reads YAML (JSON included) and, so that a malformed file still gets masked, also scans
 * the lines for `key: value`.
 */
export function kubeconfigSecrets(content: string): string[] {
  const found = new Set<string>();
  const add = (value: string): void => {
    for (const line of value.split(/\r?\n/)) {
      const v = line.trim();
      if (v) found.add(v);
    }
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const v of node) walk(v);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (CREDENTIAL_KEYS.has(k) && (typeof v === 'string' || typeof v === 'number')) add(String(v));
        else if (k === 'proxy-url' && typeof v === 'string') proxyPasswords(v).forEach(add);
        else walk(v);
      }
    }
  };
  try {
    for (const doc of parseAllDocuments(content)) walk(doc.toJS());
  } catch {
    // Malformed YAML: the line scan below still finds the values.
  }
  for (const line of content.split(/\r?\n/)) {
    const m = LINE.exec(line);
    if (m && m[1] === 'proxy-url') proxyPasswords(unquote(m[2]!)).forEach(add);
    if (m && CREDENTIAL_KEYS.has(m[1]!)) {
      const v = unquote(m[2]!);
      // Block scalars (`key: |`) have their text on the next lines, which the YAML walk covered.
      if (v && v !== '|' && v !== '>' && !/^[|>][-+]?$/.test(v)) add(v);
    }
  }
  return [...found];
}

/** Writes the kubeconfig to a private file; `cleanup` removes it and its directory. */
export async function writeKubeconfig(
  content: string,
  dir = process.env.RUNNER_TEMP || os.tmpdir(),
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  // mkdtemp makes the directory 0700; the file is 0600 from its creation, never readable by others.
  const folder = await mkdtemp(path.join(dir, 'nopea-kube-'));
  const file = path.join(folder, 'kubeconfig');
  await writeFile(file, content, { mode: 0o600, flag: 'wx' });
  return { path: file, cleanup: () => rm(folder, { recursive: true, force: true }) };
}
