/**
 * A URL as it may be printed (start-up errors, `plinth doctor`, the OTLP endpoint in the banner and logs): the
 * user info and every credential in the query replaced by `***`.
 *
 * The PostgreSQL driver takes more than a strict URL: a password with a raw `@` (`user:p@ss@host`), and a
 * password in the query (`?password=…`, `?sslpassword=…`). So the user info runs to the LAST `@` before the
 * query (a password may hold `/` or `@`), not to the first.
 */

/** Query keys whose values are credentials (password, sslpassword, passfile, sslkey, token, api-key, …). */
const SECRET_QUERY_KEY = /pass|secret|token|key|auth|credential/i;

export function maskUrlCredentials(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  const start = scheme ? scheme[0].length : 0;
  const q = url.indexOf('?', start);
  const beforeQuery = q < 0 ? url : url.slice(0, q);
  const at = beforeQuery.lastIndexOf('@');
  let out = at >= start && scheme ? `${url.slice(0, start)}***${beforeQuery.slice(at)}` : beforeQuery;
  if (q >= 0) out += `?${redactQuery(url.slice(q + 1), (key) => SECRET_QUERY_KEY.test(key))}`;
  return out;
}

/** `a=1&token=abc` → `a=1&token=***`: values of the keys `isSecret` names (decoded, `+` as space) are masked. */
export function redactQuery(query: string, isSecret: (key: string) => boolean): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawKey = eq < 0 ? pair : pair.slice(0, eq);
      let key = rawKey;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      } catch {
        // keep the raw key
      }
      return eq >= 0 && isSecret(key) ? `${rawKey}=***` : pair;
    })
    .join('&');
}
