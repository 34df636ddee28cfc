import type { Script } from '../../local/model-server'

/** A user message that makes the scripted model follow `script`. */
export function scripted(script: Script, prefix = 'scripted turn'): string {
  return `${prefix} <<script ${JSON.stringify(script)}>>`
}

/** `n` distinct words (`tag0 tag1 …`): a reply long enough to stream in many deltas, and easy to check whole. */
export const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ')

/** A script step: the agent asks the client one question, Red or Blue. */
export const COLOUR_QUESTION = {
  tool: {
    name: 'question',
    args: {
      questions: [
        {
          question: 'Which colour should the button be?',
          header: 'Colour',
          options: [
            { label: 'Red', description: 'warm' },
            { label: 'Blue', description: 'cool' },
          ],
        },
      ],
    },
  },
}
