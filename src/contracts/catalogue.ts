import { z } from '@hono/zod-openapi'
import { CatalogueRuntime } from './runtimes'

/** What a deployment can run: its models and its agents, for a frontend's pickers. */

export const CatalogueModel = z
  .object({
    id: z.string().openapi({ example: 'anthropic/claude-sonnet-4-5', description: '`provider/model`, as sessions and messages name it' }),
    name: z.string(),
    provider: z.string(),
    attachments: z.boolean().openapi({ description: 'takes files: images as images, PDFs as documents' }),
    reasoning: z.boolean(),
  })
  .openapi('CatalogueModel')

export const ModelCatalogue = z
  .object({
    default: z.string().nullable().openapi({ description: 'the model a session runs when it names none' }),
    models: z.array(CatalogueModel),
    providers: z
      .array(z.object({ id: z.string(), anyModel: z.boolean() }))
      .openapi({
        description:
          'Every provider the deployment can reach. `anyModel`: its models are not listed in OPENCODE_CONFIG (a provider with only a key), so any model of it is accepted and opencode checks it',
      }),
  })
  .openapi('ModelCatalogue')

export const CatalogueAgent = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    mode: z.enum(['primary', 'subagent', 'all']).openapi({ description: 'primary agents run messages (`agent`); subagents are started by them' }),
    native: z.boolean().openapi({ description: "opencode's own, not configured" }),
    model: z.string().optional(),
  })
  .openapi('CatalogueAgent')

export const AgentCatalogue = z
  .object({
    default: z.string(),
    agents: z.array(CatalogueAgent),
    runtimes: z.array(CatalogueRuntime).openapi({ description: 'the coding agents a session can run (`runtime`), with what each supports' }),
  })
  .openapi('AgentCatalogue')

export type CatalogueModel = z.infer<typeof CatalogueModel>
export type ModelCatalogue = z.infer<typeof ModelCatalogue>
export type CatalogueAgent = z.infer<typeof CatalogueAgent>
export type AgentCatalogue = z.infer<typeof AgentCatalogue>
