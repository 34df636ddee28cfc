/**
 * Where a run's callback may go. Callbacks are requests the Worker makes on a tenant's behalf,
 * so a URL must not point it at the deployment's own neighbourhood (loopback, private,
 * link-local, shared and other special-purpose addresses) nor carry credentials that would end
 * up stored and shown in the run. `allowLocal` (ALLOW_LOCAL_CALLBACKS=1, the local stack) lets
 * http reach loopback and lifts the address rules. Names are not resolved here: this refuses
 * literals; a Worker's fetch cannot reach private networks behind a public name.
 *
 * The host is read as the WHATWG URL parser leaves it, which is also how fetch reads it: IPv4 in
 * any spelling (`2130706433`, `0x7f.1`, `017700000001`) comes out dotted-decimal, and IPv6
 * compressed, with an embedded IPv4 in hex groups (`[::ffff:127.0.0.1]` is `[::ffff:7f00:1]`).
 */

/** An address block: the leading `bits` of `prefix` (an address of the family as a number). */
type Block = { prefix: bigint; bits: number; name: string }

const v4 = (dotted: string, bits: number, name: string): Block => ({
  prefix: dotted.split('.').reduce((n, part) => (n << 8n) | BigInt(part), 0n),
  bits,
  name,
})

/** IPv6 blocks are written as their leading 16-bit groups. */
const v6 = (groups: number[], bits: number, name: string): Block => ({
  prefix: [...groups, ...Array<number>(8 - groups.length).fill(0)].reduce((n, g) => (n << 16n) | BigInt(g), 0n),
  bits,
  name,
})

/** IPv4 addresses a callback may not name (RFC 6890's special-purpose blocks that route nowhere public). */
const IPV4_REFUSED: Block[] = [
  v4('0.0.0.0', 8, 'this network'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'shared (CGNAT)'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'IETF protocol assignments'),
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'benchmarking'),
  v4('224.0.0.0', 3, 'multicast, reserved and broadcast'),
]

/**
 * IPv6 addresses a callback may not name. Every form that carries an IPv4 address is refused
 * whatever that address is: each can reach an internal IPv4 host through a translator or the
 * host's own stack, and a public IPv4 host can be named as itself.
 */
const IPV6_REFUSED: Block[] = [
  v6([], 96, 'unspecified, loopback or IPv4-compatible'), // ::/96 holds :: and ::1 too
  v6([0, 0, 0, 0, 0, 0xffff], 96, 'IPv4-mapped'),
  v6([0, 0, 0, 0, 0xffff], 96, 'IPv4-translated'),
  v6([0x64, 0xff9b], 96, 'NAT64'),
  v6([0x64, 0xff9b, 1], 48, 'local NAT64'),
  v6([0x2001], 32, 'Teredo'),
  v6([0x2002], 16, '6to4'),
  v6([0xfc00], 7, 'unique local (private)'),
  v6([0xfe80], 10, 'link-local'),
  v6([0xfec0], 10, 'site-local'),
  v6([0xff00], 8, 'multicast'),
]

const within = (address: bigint, width: number, block: Block) => address >> BigInt(width - block.bits) === block.prefix >> BigInt(width - block.bits)

/** A dotted-decimal IPv4 host as a number, as the URL parser writes every IPv4 host. */
function ipv4(host: string): bigint | undefined {
  const parts = host.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined
  return parts.reduce((n, part) => (n << 8n) | BigInt(part), 0n)
}

/** A bracketed IPv6 host (hex groups, `::` at most once, as the URL parser writes it) as a number. */
function ipv6(host: string): bigint | undefined {
  if (!host.startsWith('[') || !host.endsWith(']')) return undefined
  const inner = host.slice(1, -1)
  const halves = inner.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string) => (s === '' ? [] : s.split(':'))
  const front = groups(halves[0]!)
  const back = halves.length === 2 ? groups(halves[1]!) : []
  const missing = 8 - front.length - back.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const all = [...front, ...Array<string>(missing).fill('0'), ...back]
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n)
}

const isLocalName = (name: string) => name === 'localhost' || name.endsWith('.localhost')

function isLoopback(host: string): boolean {
  const a = ipv4(host)
  if (a !== undefined) return a >> 24n === 127n
  return host === '[::1]' || isLocalName(host)
}

/** What kind of internal address `host` names, or nothing for a public address or a name. */
export function internalAddress(host: string): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, '')
  if (isLocalName(name)) return 'localhost'
  const a4 = ipv4(name)
  if (a4 !== undefined) return IPV4_REFUSED.find((b) => within(a4, 32, b))?.name
  if (name.startsWith('[')) {
    const a6 = ipv6(name)
    // The parser only writes valid literals; anything else is refused rather than guessed at.
    if (a6 === undefined) return 'unreadable IPv6'
    return IPV6_REFUSED.find((b) => within(a6, 128, b))?.name
  }
  return undefined
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
  if (!allowLocal && internalAddress(host)) return 'must not be a loopback, private, link-local or other special-purpose address'
  return undefined
}

export const localCallbacksAllowed = (setting: string | undefined) => setting === '1'
