// Gateway API's standard-channel CRDs (HTTPRoute and friends), read from the `sigs.k8s.io/gateway-api`
// Go module that build.sh fetches into the module cache (config/crd/standard). Installed with the
// cluster so that tests can read the HTTPRoute weights Kulta writes; nothing implements the routes.
// The channel's ValidatingAdmissionPolicy (safe-upgrades) is left out: it is not a CRD, and it would
// vet every CRD write in the cluster.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** GATEWAY_API_VERSION from versions.env (the pin build.sh fetches). */
export function gatewayApiVersion(versionsFile: string): string {
  const text = fs.readFileSync(versionsFile, 'utf8');
  const version = /^GATEWAY_API_VERSION=(\S+)\s*$/m.exec(text)?.[1];
  if (!version) throw new Error(`${versionsFile} sets no GATEWAY_API_VERSION`);
  return version;
}

export interface GatewayApiCrds {
  version: string;
  /** Each CRD's name and its JSON, ready for server-side apply. */
  load: () => Promise<{ name: string; json: string }[]>;
}

/** Locates the module's standard CRDs (build.sh must have fetched them) and returns a cached loader. */
export function gatewayApiCrds(gomodcache: string, version: string, cacheDir: string): GatewayApiCrds {
  const dir = path.join(gomodcache, 'sigs.k8s.io', `gateway-api@${version}`, 'config', 'crd', 'standard');
  if (!fs.existsSync(dir)) {
    throw new Error(`Gateway API CRDs are missing at ${dir}; run test/cluster/build.sh (it fetches them)`);
  }
  const cached = path.join(cacheDir, `gateway-api-${version}-standard.json`);
  const load = async () => {
    try {
      return JSON.parse(await fsp.readFile(cached, 'utf8')) as { name: string; json: string }[];
    } catch {
      // Not cached yet: parse the YAML once (the yaml devDependency, loaded only here).
    }
    const { parseAllDocuments } = await import('yaml');
    const crds: { name: string; json: string }[] = [];
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const document of parseAllDocuments(text)) {
        if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
        const object = document.toJS() as { kind?: string; metadata?: { name?: string } } | null;
        if (object?.kind !== 'CustomResourceDefinition' || !object.metadata?.name) continue;
        crds.push({ name: object.metadata.name, json: JSON.stringify(object) });
      }
    }
    if (!crds.some((crd) => crd.name === `httproutes.${GATEWAY_API_GROUP}`)) {
      throw new Error(`${dir} has no HTTPRoute CRD`);
    }
    await fsp.mkdir(cacheDir, { recursive: true });
    const partial = `${cached}.${process.pid}.partial`;
    await fsp.writeFile(partial, JSON.stringify(crds));
    await fsp.rename(partial, cached);
    return crds;
  };
  return { version, load };
}
