/**
 * Where a run's callback may go. Callbacks are requests the Worker makes on a tenant's behalf,
 * so a URL must not point it at the deployment's own neighbourhood (loopback, private and
 * link-local addresses) nor carry credentials that would end up stored and shown in the run.
 * `allowLocal` (ALLOW_LOCAL_CALLBACKS=1, the local stack) lets http reach loopback and lifts the
 * address rules. Names are not resolved here: this refuses literals; a Worker's fetch cannot
 * reach private networks behind a public name.
 */

function ipv4(host: string): number[] | undefined {
  const parts = host.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined
  return parts.map(Number)
}

function ipv4Internal([a, b]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 169 && b === 254) ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168)
  )
}

/** The 16-bit groups of a bracketless IPv6 literal as the URL parser writes it (`::` expanded). */
function ipv6Groups(host: string): number[] | undefined {
  if (!host.includes(':')) return undefined
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined]
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])
  const front = parse(head)
  const back = parse(tail)
  if (tail === undefined) return front.length === 8 ? front : undefined
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back]
}

function ipv6Internal(groups: number[]): boolean {
  const [first] = groups as [number]
  if (groups.every((g) => g === 0)) return true // ::
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true // ::1
  if ((first & 0xfe00) === 0xfc00) return true // fc00::/7
  if ((first & 0xffc0) === 0xfe80) return true // fe80::/10
  // IPv4-mapped (::ffff:a.b.c.d), as the URL parser rewrites it into hex groups
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return ipv4Internal([groups[6]! >> 8, groups[6]! & 0xff])
  }
  return false
}

function isLoopback(host: string): boolean {
  const v4 = ipv4(host)
  if (v4) return v4[0] === 127
  return host === '[::1]' || host === 'localhost' || host.endsWith('.localhost')
}

function isInternal(host: string): boolean {
  const name = host.replace(/\.$/, '')
  if (name === 'localhost' || name.endsWith('.localhost')) return true
  const v4 = ipv4(name)
  if (v4) return ipv4Internal(v4)
  if (name.startsWith('[')) {
    const groups = ipv6Groups(name.slice(1, -1))
    return groups === undefined || ipv6Internal(groups)
  }
  return false
}

/** Why `url` may not receive callbacks, or nothing when it may. */
export function callbackUrlProblem(url: string, allowLocal: boolean): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'not a URL'
  }
  if (parsed.username || parsed.password) return 'must not hold credentials'
  const host = parsed.hostname.toLowerCase()
  if (parsed.protocol === 'http:') {
    if (!allowLocal) return 'must be https'
    if (!isLoopback(host)) return 'http is allowed to loopback only'
    return undefined
  }
  if (parsed.protocol !== 'https:') return 'must be https'
  if (!allowLocal && isInternal(host)) return 'must not be a loopback, private or link-local address'
  return undefined
}

export const localCallbacksAllowed = (setting: string | undefined) => setting === '1'
