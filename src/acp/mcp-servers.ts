import type { McpServer as AcpMcpServer } from '@agentclientprotocol/sdk'
import type { z } from '@hono/zod-openapi'
import type { McpServer } from '../contracts/fields'

type SessionMcp = Record<string, z.infer<typeof McpServer>>

/**
 * A session's MCP servers (opencode's shape, as the session takes them) as ACP's `session/new`
 * takes them: a local one as a command with its arguments and environment, a remote one over
 * streamable HTTP. An agent that does not say it speaks HTTP to MCP servers gets the local ones
 * only: ACP forbids offering a transport the agent has not announced.
 */
export function acpMcpServers(mcp: SessionMcp | undefined, speaksHttp: boolean): AcpMcpServer[] {
  return Object.entries(mcp ?? {}).flatMap(([name, server]): AcpMcpServer[] => {
    if (server.type === 'local') {
      const [command, ...args] = server.command
      return [{ name, command: command!, args, env: Object.entries(server.environment ?? {}).map(([n, value]) => ({ name: n, value })) }]
    }
    if (!speaksHttp) return []
    return [{ type: 'http', name, url: server.url, headers: Object.entries(server.headers ?? {}).map(([n, value]) => ({ name: n, value })) }]
  })
}
