import { listeningSockets, PORT_WATCH_EVERY_MS, PORT_WATCH_WAIT_MS, portSet } from './listening-ports'
import { shellQuote } from './provider'

export { PORT_WATCH_WAIT_MS }

/**
 * The command that looks at a sandbox's listening ports from inside it (E2B, where the sandbox is
 * a machine of its own): a node script printing the ports, comma-separated, once they differ from
 * `differentFrom` or the wait is over (at once without it). It reads the tables with the very
 * functions the local host uses, their source put into the script.
 */
export function portWatchCommand(excluded: number[], differentFrom?: number[]): string {
  const script = `
const fs = require('fs');
const listeningSockets = ${listeningSockets.toString()};
const portSet = ${portSet.toString()};
const excluded = new Set(${JSON.stringify(excluded)});
const known = ${JSON.stringify(differentFrom === undefined ? null : differentFrom.join(','))};
const end = Date.now() + ${PORT_WATCH_WAIT_MS};
const read = (f) => { try { return fs.readFileSync(f, 'utf8') } catch { return '' } };
const look = () => portSet([...listeningSockets(read('/proc/net/tcp')), ...listeningSockets(read('/proc/net/tcp6'))].map((s) => s.port).filter((p) => !excluded.has(p))).join(',');
const tick = () => { const now = look(); if (known === null || now !== known || Date.now() > end) console.log(now); else setTimeout(tick, ${PORT_WATCH_EVERY_MS}) };
tick();
`
  return `node -e ${shellQuote(script)}`
}
