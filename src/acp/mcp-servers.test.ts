import { describe, expect, it } from 'vitest'
import { acpMcpServers } from './mcp-servers'

describe('acpMcpServers', () => {
  const mcp = {
    files: { type: 'local' as const, command: ['node', 'server.mjs', '--root', '.'], environment: { LEVEL: 'debug' } },
    docs: { type: 'remote' as const, url: 'https://mcp.example.com/mcp', headers: { authorization: 'Bearer t' } },
  }

  it('gives a local server as its command, arguments and environment, and a remote one over HTTP with its headers', () => {
    expect(acpMcpServers(mcp, true)).toEqual([
      { name: 'files', command: 'node', args: ['server.mjs', '--root', '.'], env: [{ name: 'LEVEL', value: 'debug' }] },
      { type: 'http', name: 'docs', url: 'https://mcp.example.com/mcp', headers: [{ name: 'authorization', value: 'Bearer t' }] },
    ])
  })

  it('leaves out remote servers for an agent that does not speak HTTP to them, and has none for a session without any', () => {
    expect(acpMcpServers(mcp, false).map((s) => s.name)).toEqual(['files'])
    expect(acpMcpServers(undefined, true)).toEqual([])
  })
})
