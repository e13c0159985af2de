/**
 * Where a deploy came from: repository, commit and ref, from the CI environment when there is one,
 * else from git. Credentials in remote URLs are never recorded.
 */
import { simpleGit } from 'simple-git';

export interface SourceInfo {
  repo?: string;
  commit?: string;
  ref?: string;
}

/** Removes user info (tokens) from a URL-like remote. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]*@/, '$1');
}

/** Repository, commit and ref of the checkout being deployed. */
export async function sourceInfo(
  repoRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SourceInfo> {
  const git = simpleGit({ baseDir: repoRoot });
  const out: SourceInfo = {};
  const [commit, ref, remote] = await Promise.all([
    git.revparse(['HEAD']).catch(() => ''),
    git.revparse(['--abbrev-ref', 'HEAD']).catch(() => ''),
    git.remote(['get-url', 'origin']).catch(() => ''),
  ]);
  if (env.GITHUB_REPOSITORY)
    out.repo = `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}`;
  else if (remote && remote.trim()) out.repo = redactUrl(remote.trim());
  const sha = env.GITHUB_SHA || commit.trim();
  if (sha) out.commit = sha;
  const r = env.GITHUB_REF || (ref.trim() && ref.trim() !== 'HEAD' ? `refs/heads/${ref.trim()}` : '');
  if (r) out.ref = r;
  return out;
}
