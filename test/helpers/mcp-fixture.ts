// A minimal MCP server (newline-delimited JSON-RPC over stdio) that the agent starts in its sandbox.
export const MCP_FIXTURE = `
import readline from 'node:readline'
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n')
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line)
  if (msg.method === 'initialize') send({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'fixture', version: '1.0.0' } } })
  else if (msg.method === 'tools/list') send({ jsonrpc: '2.0', id: msg.id, result: { tools: [{ name: 'whisper', description: 'Tells the fixture word', inputSchema: { type: 'object', properties: {} } }] } })
  else if (msg.method === 'tools/call') send({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: 'fixture-word' }] } })
  else if (msg.id !== undefined) send({ jsonrpc: '2.0', id: msg.id, result: {} })
})
`
