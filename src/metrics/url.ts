/**
 * The URLs telemetry sends to (a Pushgateway, an events sink): checked to be http(s), and shown in
 * messages without what may be secret. Apart from prom-client, so that delivering events loads none of it.
 */

/** An http(s) URL, or an error saying why the text is not one. */
export function httpUrl(text: string): URL {
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${url.protocol} is not http(s)`);
  return url;
}

/** A URL without credentials or query, for messages (a webhook URL may carry a token). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
