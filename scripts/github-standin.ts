import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGitHubStandIn } from '../local/github-standin'

/**
 * The GitHub stand-in for trying GitHub runs by hand: a private repository `acme/widgets`, a
 * token and its grant to every key, printed as the settings `npm run dev` takes. Deliveries are then sent as GitHub would
 * (docs/runs.md, "GitHub"); pull requests and comments are printed as they come.
 */
const root = await mkdtemp(join(tmpdir(), 'github-standin-'))
const token = `ghp_${randomBytes(16).toString('hex')}`
const gh = await startGitHubStandIn({ root, tokens: [token] })
await gh.createRepo('acme', 'widgets', { 'README.md': '# widgets\n' })
// Granted to every key: npm run dev has one (dev-key), whose tenant then owns the deliveries' runs too.
console.log(`GITHUB_API_URL=${gh.url} GITHUB_TOKEN=${token} GITHUB_TENANT_REPOS='{"*":["acme/*"]}'`)
console.log(`repository acme/widgets: clone_url ${gh.cloneUrl('acme', 'widgets')} (on disk: ${gh.repoDir('acme', 'widgets')})`)
let seen = 0
const timer = setInterval(() => {
  for (const call of gh.calls.slice(seen)) console.log(`${call.method} ${call.path} → ${call.status}`)
  seen = gh.calls.length
}, 1000)
const stop = async () => {
  clearInterval(timer)
  await gh.close()
  await rm(root, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
