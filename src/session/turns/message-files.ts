import { ATTACHMENTS_FOLDER } from '../../opencode/config'
import type { SandboxProvider } from '../../sandbox/provider'
import type { SandboxRecord } from '../../sandbox/record'
import type { PlacedFile, PromptInput } from '../ports'
import type { MessageQueue } from './queue'

/**
 * Where a message's file lies in the sandbox: under the home, out of the workspace (and so out
 * of any diff or commit), one folder per message; the agent may read there without asking
 * (INTERACTIVE_PERMISSIONS). The file's place in the message leads its
 * name, so no name (not even `..`) can lead anywhere else.
 */
export const filePath = (home: string, messageId: string, file: number, filename: string) => `${home}/${ATTACHMENTS_FOLDER}/${messageId}/${file + 1}-${filename}`

/**
 * What the agent is sent for a message (`prompt` builds it from the message's files as placed):
 * at once for a message without files; else once its files are in the sandbox, each streamed
 * from the session's storage a stored piece at a time, and the agent is given their paths.
 */
export function withFiles(
  queue: MessageQueue,
  provider: SandboxProvider,
  sandbox: SandboxRecord | undefined,
  messageId: string,
  prompt: (files: PlacedFile[]) => PromptInput,
): PromptInput | Promise<PromptInput> {
  const files = queue.files(messageId)
  return files.length === 0 ? prompt([]) : placeFiles(queue, provider, sandbox, messageId, files).then(prompt)
}

async function placeFiles(
  queue: MessageQueue,
  provider: SandboxProvider,
  sandbox: SandboxRecord | undefined,
  messageId: string,
  files: ReturnType<MessageQueue['files']>,
): Promise<PlacedFile[]> {
  if (!sandbox) throw new Error('the session has no sandbox to put the message’s files in')
  const placed: PlacedFile[] = []
  for (const { file, filename, mime } of files) {
    const path = filePath(sandbox.home, messageId, file, filename)
    await provider.writeStream(sandbox.sandboxId, path, queue.fileBytes(messageId, file))
    placed.push({ filename, mime, path })
  }
  return placed
}
