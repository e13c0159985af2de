/**
 * The state branch is pushed with the workflow's token: an http extra header, the way
 * actions/checkout authenticates, so the token never lands in a remote URL or the repository config.
 */

/** `AUTHORIZATION: basic base64(x-access-token:TOKEN)` for `http.<url>.extraheader`. */
export function gitAuthHeader(token: string): string {
  return `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
}

/** Values to mask in logs for a token: the token, the header, and its base64 credential alone. */
export function tokenSecrets(token: string): string[] {
  const header = gitAuthHeader(token);
  return [token, header, header.slice('AUTHORIZATION: basic '.length)];
}
