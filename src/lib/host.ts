/**
 * Host header checks: a server on a laptop answers only to the names it is meant to have, so a
 * web page whose own domain is rebound to 127.0.0.1 (DNS rebinding) cannot talk to it.
 */

/** The host name of a Host header, lower case, without its port: `[::1]:8787` gives `[::1]`. */
export function hostName(header: string): string {
  const host = header.trim().toLowerCase()
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.indexOf(':')
  return colon < 0 ? host : host.slice(0, colon)
}

/** `allowed` is a comma-separated list of host names, as ALLOWED_HOSTS holds it. */
export function isAllowedHost(header: string | undefined, allowed: string): boolean {
  const names = allowed
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean)
  return header !== undefined && names.includes(hostName(header))
}
