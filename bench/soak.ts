import { appendFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { seededRandom } from '../local/seeded-random'
import { PROJECT_ROOT } from '../local/stack'
import { auditIds, idRanges, type IdAudit } from './lib/audit'
import { cuttingReader, type CuttingReader } from './lib/cutting-reader'
import { mib, opencodeProcessesUnder, workerdMemory } from './lib/procs'
import { benchStack, call, cleanupAll, idleSession, script, type BenchStack } from './lib/stack'
import { ms, now, quantile, sleep } from './lib/stats'

/**
 * `npm run soak`: sessions kept busy for minutes, each read by several clients whose
 * connections are cut at random moments, sessions deleted and new ones started as it runs.
 * Not a test and not part of `npm run bench`: it prints, and writes to bench/SOAK.md, whether
 * any client lost or got twice an event, whether every reply arrived whole, what is left after
 * the last delete, and workerd's memory. The exit code is 1 when any of those is wrong.
 *
 *   npm run soak -- --sessions 3 --turns 3 --minutes 1
 */

const { values: flags } = parseArgs({
  options: {
    sessions: { type: 'string' },
    turns: { type: 'string' },
    clients: { type: 'string' },
    minutes: { type: 'string' },
    seed: { type: 'string' },
  },
})

function option(name: keyof typeof flags, fallback: number): number {
  const raw = flags[name] ?? process.env[`SOAK_${name.toUpperCase()}`]
  const value = raw === undefined ? fallback : Number(raw)
  if (!(value > 0)) throw new Error(`--${name} (or SOAK_${name.toUpperCase()}) must be a positive number, not ${raw}`)
  return value
}

const SESSIONS = Math.floor(option('sessions', 12))
const TURNS = Math.floor(option('turns', 10))
const CLIENTS = Math.floor(option('clients', 4))
const MINUTES = option('minutes', 5)
const SEED = Math.floor(option('seed', Date.now() % 1_000_000))

/** A reply: this many words, streamed in this many pieces this far apart (about a second of stream). */
const WORDS = 40
const PIECES = 100
const PIECE_DELAY_MS = 10
/** How long a client's connection lasts before it is cut, at random between these. */
const CUT_AFTER_MS = [100, 4_000] as const
/** Accents and symbols, so that a piece cut in the middle of a character would show. */
const VOCABULARY = ['soak', 'naïve', 'café', 'über', 'déjà', 'vu', 'event', 'résumé', '→', 'id', 'gap', 'façade', 'Ωmega', '日本', 'stream']
/** After its session is deleted, a client gets this long to read to the end. */
const DRAIN_MS = 60_000

const t0 = now()
const elapsed = () => `${((now() - t0) / 1000).toFixed(0)} s`
const progress = (what: string) => console.error(`[soak ${elapsed()}] ${what}`)

type Turn = { expected: string; messageId?: string; replyText?: string; ms?: number; error?: string }
type ClientResult = { audit: IdAudit; connections: number; end: string; textMismatches: string[] }
type SessionResult = { label: string; id?: string; error?: string; turns: Turn[]; lastEventId?: number; clients: ClientResult[] }

const results: SessionResult[] = []
let turnsDone = 0
let repeated = 0

function checkClient(reader: CuttingReader, end: string, turns: Turn[], lastEventId: number): ClientResult {
  const textMismatches: string[] = []
  for (const turn of turns) {
    if (!turn.messageId) continue
    const deltas = reader.deltaTexts.get(turn.messageId)
    const completed = reader.completedTexts.get(turn.messageId)
    if (deltas !== turn.expected) textMismatches.push(`${turn.messageId}: deltas ${JSON.stringify(deltas)}`)
    if (completed !== turn.expected) textMismatches.push(`${turn.messageId}: message.completed ${JSON.stringify(completed)}`)
  }
  // Every client starts from the beginning (after 0), so it is owed every id from 1.
  return { audit: auditIds(reader.ids, 1, lastEventId), connections: reader.connections(), end, textMismatches }
}

async function soakSession(stack: BenchStack, label: string, seed: number, deadline: number): Promise<SessionResult> {
  const rand = seededRandom(seed)
  const result: SessionResult = { label, turns: [], clients: [] }
  let id: string
  try {
    id = await again(() => idleSession(stack))
  } catch (err) {
    return { ...result, error: `start: ${err instanceof Error ? err.message : String(err)}` }
  }
  result.id = id
  const cutAfter = () => CUT_AFTER_MS[0] + rand() * (CUT_AFTER_MS[1] - CUT_AFTER_MS[0])
  const readers = Array.from({ length: CLIENTS }, () => cuttingReader(stack.url, id, cutAfter))
  for (let t = 0; t < TURNS && Date.now() < deadline; t++) {
    const expected = Array.from({ length: WORDS }, () => VOCABULARY[Math.floor(rand() * VOCABULARY.length)]).join(' ')
    const turn: Turn = { expected }
    result.turns.push(turn)
    const sent = now()
    try {
      const body = { text: script({ reply: expected, chunks: PIECES, delayMs: PIECE_DELAY_MS }), idempotencyKey: `${label}-${t}` }
      const res = await again(() => call(stack, `/v1/sessions/${id}/messages?wait=true&timeout=300`, body))
      turn.ms = now() - sent
      turn.messageId = res.reply?.messageId as string | undefined
      turn.replyText = res.reply?.text as string | undefined
      turnsDone++
    } catch (err) {
      turn.error = err instanceof Error ? err.message : String(err)
      break
    }
  }
  try {
    await deleteSession(stack, id)
  } catch (err) {
    result.error = `delete: ${err instanceof Error ? err.message : String(err)}`
  }
  const giveUp = setTimeout(() => readers.forEach((r) => r.stop()), DRAIN_MS)
  const ends = await Promise.all(readers.map((r) => r.done))
  clearTimeout(giveUp)
  try {
    result.lastEventId = (await call(stack, `/v1/sessions/${id}`)).lastEventId as number
  } catch (err) {
    result.error = `read after delete: ${err instanceof Error ? err.message : String(err)}`
    return result
  }
  result.clients = readers.map((r, i) => {
    const end = ends[i]!
    return checkClient(r, end instanceof Error ? `error: ${end.message}` : end, result.turns, result.lastEventId!)
  })
  return result
}

/**
 * A request asked again after a 503 or a lost connection, as a client would. wrangler dev's proxy
 * answers 503 "Your worker restarted mid-request" to a POST whose connection to the Worker it lost
 * to a keep-alive race (cloudflare/workers-sdk#14641; the Worker did not restart): under load it
 * happens every few minutes. Turns carry an idempotency key, so asking again is safe; a create
 * asked again twice would leave a session the final sweep reports.
 */
async function again<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request()
    } catch (err) {
      if (attempt >= 5 || !/answered 503|fetch failed/.test(String(err))) throw err
      repeated++
      await sleep(500 * attempt)
    }
  }
}

const deleteSession = (stack: BenchStack, id: string) => again(() => call(stack, `/v1/sessions/${id}`, undefined, 'DELETE'))

/**
 * The tenant's sessions that are still open once every slot is done: ones the soak lost track
 * of (a create whose answer was lost) or failed to delete. Each is deleted, so that the
 * left-over counts speak of what a delete leaves behind.
 */
async function sweep(stack: BenchStack): Promise<string[]> {
  const open: string[] = []
  let cursor: string | null = null
  do {
    const page = await call(stack, `/v1/sessions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    for (const s of page.items as { id: string; status: string }[]) if (s.status !== 'ended' && s.status !== 'failed') open.push(s.id)
    cursor = page.nextCursor as string | null
  } while (cursor)
  for (const id of open) await deleteSession(stack, id).catch((err: unknown) => progress(`sweep: ${String(err)}`))
  return open
}

/** One of the SESSIONS places: a session after another, each deleted after its turns, until the deadline. */
async function slot(stack: BenchStack, index: number, deadline: number) {
  for (let generation = 0; Date.now() < deadline; generation++) {
    const result = await soakSession(stack, `${index}.${generation}`, SEED + index * 1_000 + generation, deadline)
    results.push(result)
    if (result.error?.startsWith('start:')) progress(`session ${result.label} did not start: ${result.error}`)
  }
}

async function leftovers(stack: BenchStack) {
  const res = await fetch(`${stack.sandboxHostUrl}/sandboxes`, { headers: { authorization: `Bearer ${stack.sandboxHostToken}` } })
  const sandboxes = (await res.json()) as { sandboxId: string; metadata: Record<string, string> }[]
  return { sandboxes, opencode: opencodeProcessesUnder(stack.dir) }
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ')
const loadAtStart = load()
const command = `npm run soak -- --sessions ${SESSIONS} --turns ${TURNS} --clients ${CLIENTS} --minutes ${MINUTES} --seed ${SEED}`
progress(command)

/** The Worker's output, kept out of the way but at hand when something went wrong. */
const workerLog = join(tmpdir(), `soak-worker-${SEED}.log`)
writeFileSync(workerLog, '')
let stack: BenchStack
try {
  stack = await benchStack(
    { WARM_POOL_SIZE: '0', MAX_ACTIVE_SESSIONS_PER_TENANT: String(SESSIONS * 2 + 10), MAX_SESSION_CREATES_PER_MINUTE: '600' },
    (line) => appendFileSync(workerLog, line),
  )
} catch (err) {
  console.error(`the stack did not start: ${err instanceof Error ? err.message : String(err)}`)
  await cleanupAll()
  process.exit(1)
}

const memoryAtStart = workerdMemory()
let memoryPeak = memoryAtStart.rssBytes
const runStart = now()
const deadline = Date.now() + MINUTES * 60_000
progress(`stack up; workerd ${mib(memoryAtStart.rssBytes)} in ${memoryAtStart.processes} process(es); soaking for ${MINUTES} min`)
/** The most sandboxes and opencode processes seen at once: the left-over checks see what they count. */
const running = { sandboxes: 0, opencode: 0 }
const sampler = setInterval(() => {
  const m = workerdMemory()
  memoryPeak = Math.max(memoryPeak, m.rssBytes)
  leftovers(stack)
    .then((seen) => {
      running.sandboxes = Math.max(running.sandboxes, seen.sandboxes.length)
      running.opencode = Math.max(running.opencode, seen.opencode.length)
      progress(`${turnsDone} turns, ${results.length} sessions done; ${seen.sandboxes.length} sandboxes, ${seen.opencode.length} opencode; workerd ${mib(m.rssBytes)}; load ${load()}`)
    })
    .catch(() => {}) // a sample taken as the stack stops
}, 30_000)

let memoryAtEnd: ReturnType<typeof workerdMemory>
let left: Awaited<ReturnType<typeof leftovers>>
let leftCheckedAfterMs = 0
let swept: string[] = []
try {
  await Promise.all(Array.from({ length: SESSIONS }, (_, i) => slot(stack, i, deadline)))
  clearInterval(sampler)
  swept = await sweep(stack)
  const lastDelete = now()
  // The sandbox host ends a sandbox's processes before it answers the delete: anything still
  // there is counted; the check is repeated for a few seconds only to tell slow from never.
  left = await leftovers(stack)
  while ((left.sandboxes.length || left.opencode.length) && now() - lastDelete < 15_000) {
    await sleep(1_000)
    left = await leftovers(stack)
  }
  leftCheckedAfterMs = now() - lastDelete
  memoryAtEnd = workerdMemory()
  memoryPeak = Math.max(memoryPeak, memoryAtEnd.rssBytes)
} finally {
  clearInterval(sampler)
  await cleanupAll()
}
const soakMs = now() - runStart

const clients = results.flatMap((r) => r.clients.map((c, i) => ({ session: r, index: i, ...c })))
const lost = clients.reduce((n, c) => n + c.audit.lost.length, 0)
const duplicated = clients.reduce((n, c) => n + c.audit.duplicated.length, 0)
const outOfOrder = clients.reduce((n, c) => n + c.audit.outOfOrder.length, 0)
const unfinished = clients.filter((c) => c.end !== 'ended')
const turns = results.flatMap((r) => r.turns)
const latencies = turns.flatMap((t) => (t.ms === undefined ? [] : [t.ms]))
const failedTurns = results.flatMap((r) => r.turns.filter((t) => t.error).map((t) => ({ session: r, turn: t })))
const wrongReplies = results.flatMap((r) => r.turns.filter((t) => !t.error && t.replyText !== t.expected).map((t) => ({ session: r, turn: t })))
const textMismatches = clients.flatMap((c) => c.textMismatches.map((m) => ({ client: c, what: m })))
const sessionErrors = results.filter((r) => r.error)
const fullSessions = results.filter((r) => r.turns.length === TURNS && r.turns.every((t) => !t.error)).length

const problems: string[] = []
for (const c of clients) {
  const who = `session ${c.session.id} (${c.session.label}), client ${c.index}`
  if (c.audit.lost.length) problems.push(`${who}: lost ${c.audit.lost.length} of ids 1-${c.session.lastEventId}: ${idRanges(c.audit.lost)}`)
  if (c.audit.duplicated.length) problems.push(`${who}: got again ${c.audit.duplicated.length}: ${idRanges(c.audit.duplicated)}`)
  if (c.audit.outOfOrder.length) problems.push(`${who}: out of order: ${idRanges(c.audit.outOfOrder)}`)
  if (c.end !== 'ended') problems.push(`${who}: the stream did not end with session.ended (${c.end})`)
}
for (const { client, what } of textMismatches) problems.push(`session ${client.session.id} (${client.session.label}), client ${client.index}: text differs, ${what}`)
for (const { session, turn } of wrongReplies) problems.push(`session ${session.id} (${session.label}): ?wait=true reply ${turn.messageId} text differs: ${JSON.stringify(turn.replyText)}`)
for (const { session, turn } of failedTurns) problems.push(`session ${session.id ?? '-'} (${session.label}): a turn failed: ${turn.error}`)
for (const s of sessionErrors) problems.push(`session ${s.id ?? '-'} (${s.label}): ${s.error}`)
for (const id of swept) problems.push(`session ${id} was still open after the soak's own deletes (a create or delete answered 5xx); deleted by the final sweep`)
for (const s of left.sandboxes) problems.push(`left after the last delete: sandbox ${s.sandboxId} of session ${s.metadata.sessionId ?? '(none)'}`)
for (const pid of left.opencode) problems.push(`left after the last delete: opencode serve, pid ${pid}`)

const leftCount = left.sandboxes.length + left.opencode.length
const failed = lost + duplicated + outOfOrder + leftCount + swept.length + unfinished.length + failedTurns.length + wrongReplies.length + textMismatches.length + sessionErrors.length > 0
const ok = (n: number) => (n === 0 ? '0' : `**${n}**`)
const rows: [string, string][] = [
  ['sessions created and deleted', `${results.length}, ${SESSIONS} at a time; ${fullSessions} of them ran all ${TURNS} turns`],
  ['turns completed', `${latencies.length} (${failedTurns.length} failed; one round of sessions is ${SESSIONS} × ${TURNS} = ${SESSIONS * TURNS})`],
  ['events lost', ok(lost)],
  ['events duplicated', ok(duplicated)],
  ['events out of order', ok(outOfOrder)],
  ['replies whose text differed (deltas, message.completed or ?wait=true)', ok(textMismatches.length + wrongReplies.length)],
  ['clients whose stream did not end with session.ended', ok(unfinished.length)],
  ['sessions still open after the soak\'s own deletes (then deleted)', ok(swept.length)],
  ['sandboxes left after the last delete', `${ok(left.sandboxes.length)} (${running.sandboxes} at most while it ran)`],
  ['`opencode serve` processes left after the last delete', `${ok(left.opencode.length)} (${running.opencode} at most while it ran)`],
  ['workerd RSS, start → end (peak)', `${mib(memoryAtStart.rssBytes)} → ${mib(memoryAtEnd.rssBytes)} (${mib(memoryPeak)}), ${memoryAtEnd.processes} process(es)`],
  ['turn latency, send → reply complete', `p50 ${ms(quantile(latencies, 0.5))}, p99 ${ms(quantile(latencies, 0.99))}, max ${ms(Math.max(...latencies))}`],
  ['requests asked again after a 503 or a lost connection', String(repeated)],
  ['clients, connections, events received', `${clients.length} clients, ${clients.reduce((n, c) => n + c.connections, 0)} connections, ${clients.reduce((n, c) => n + c.audit.received, 0)} events`],
]
const table = ['| figure | value |', '| --- | --- |', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n')
const date = new Date().toISOString().replace('T', ' ').slice(0, 16)
const report = `# Soak results

Run ${date} UTC with \`${command}\` on ${machine}; load average ${loadAtStart} at the start, ${load()} at the end;
${(soakMs / 1000).toFixed(0)} s of soak, ${elapsed()} in all. ${failed ? '**Failed**: see below.' : 'Passed.'}

${table}
${problems.length ? `\nWhat went wrong (the Worker's log of the run was ${workerLog}):\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : ''}
What it does: ${SESSIONS} sessions at a time on the local stack (\`WARM_POOL_SIZE=0\`, the scripted
model). Each session, once idle, is sent ${TURNS} turns one after another with \`?wait=true\` (a
reply of ${WORDS} words with accents and symbols, streamed in ${PIECES} pieces ${PIECE_DELAY_MS} ms apart), then deleted, and a new
session takes its place until ${MINUTES} min have passed; turns under way then finish. ${CLIENTS} clients read
each session from its first event with the typed client (\`src/client/sse.ts\`), each connection cut
after a random ${CUT_AFTER_MS[0]}-${CUT_AFTER_MS[1]} ms, the client resuming with \`Last-Event-ID\`. Every id each
client took off the wire, beneath the client's own guard against repeats, must run without a hole
or a repeat from 1 to the session's last event; the deltas and \`message.completed\` text of every
reply must be the text the scripted model was given, as must \`?wait=true\`'s. Left-overs: the
sandbox host's list and \`opencode serve\` processes under the stack's temp folder in /proc,
checked ${(leftCheckedAfterMs / 1000).toFixed(1)} s after the last delete answered (the most seen while it ran, sampled
every 30 s, shows the checks see what they count). workerd's memory: the RSS of the workerd
processes under this process, sampled every 30 s for the peak.
`

console.log(`\n${machine}\n\n${table}\n\nThe Worker's log: ${workerLog}\n`)
if (problems.length) console.log(`What went wrong:\n${problems.join('\n')}\n`)
writeFileSync(join(PROJECT_ROOT, 'bench', 'SOAK.md'), report)
progress(`wrote bench/SOAK.md; ${failed ? 'FAILED' : 'passed'}`)
process.exit(failed ? 1 : 0)
