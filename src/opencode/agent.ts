import type { FilePartInput, OpencodeClient, PermissionRequest, QuestionRequest, TextPartInput } from '@opencode-ai/sdk/v2/client'
import { fileUrl } from '../lib/file-url'
import type { AgentPort, HumanAnswer, PlacedFile, PromptInput } from '../session/ports'

function splitModel(model: string | undefined) {
  if (!model) return undefined
  const slash = model.indexOf('/')
  return { providerID: model.slice(0, slash), modelID: model.slice(slash + 1) }
}

/**
 * A file as opencode takes it in a prompt: a `file:` URL of where it lies in the sandbox, which
 * opencode reads there (the Worker never holds it whole). Images and PDFs keep their type, so a
 * model that takes them gets an image or a document; the text kinds go as `text/plain`, which
 * opencode reads into the conversation with its Read tool, by path, for any model.
 */
export function filePart({ filename, mime, path }: PlacedFile): FilePartInput {
  const type = mime.startsWith('image/') || mime === 'application/pdf' ? mime : 'text/plain'
  return { type: 'file', mime: type, filename, url: fileUrl(path) }
}

/**
 * One opencode session in a sandbox, through the SDK's client: the calls a session's turns and
 * human requests make, each answering opencode's HTTP status.
 */
export class OpencodeAgent implements AgentPort {
  constructor(
    readonly client: OpencodeClient,
    readonly sessionId: string,
  ) {}

  async prompt(input: PromptInput): Promise<number> {
    const text: TextPartInput = { type: 'text', text: input.text }
    const res = await this.client.session.promptAsync({
      sessionID: this.sessionId,
      parts: [text, ...(input.files ?? []).map(filePart)],
      model: splitModel(input.model),
      agent: input.agent,
      system: input.system,
      ...(input.outputSchema && { format: { type: 'json_schema', schema: input.outputSchema } }),
    })
    return res.error ? Math.max(res.response.status, 400) : res.response.status
  }

  async abort(): Promise<number> {
    return (await this.client.session.abort({ sessionID: this.sessionId })).response.status
  }

  async answer(a: HumanAnswer): Promise<number> {
    const res =
      a.kind === 'permission'
        ? await this.client.permission.reply({ requestID: a.id, reply: a.reply, message: a.message })
        : 'reject' in a
          ? await this.client.question.reject({ requestID: a.id })
          : await this.client.question.reply({ requestID: a.id, answers: a.answers })
    return res.response.status
  }

  async openRequests(): Promise<{ permission: PermissionRequest[]; question: QuestionRequest[] } | undefined> {
    const [permissions, questions] = await Promise.all([this.client.permission.list(), this.client.question.list()])
    if (!permissions.data || !questions.data) return undefined
    return { permission: permissions.data, question: questions.data }
  }

  /** Takes the session (conversation and files) back to before `messageId`; the revert can be undone until the next prompt. */
  async revert(messageId: string): Promise<number> {
    return (await this.client.session.revert({ sessionID: this.sessionId, messageID: messageId })).response.status
  }

  async unrevert(): Promise<number> {
    return (await this.client.session.unrevert({ sessionID: this.sessionId })).response.status
  }

  async rename(title: string): Promise<number> {
    return (await this.client.session.update({ sessionID: this.sessionId, title })).response.status
  }
}
