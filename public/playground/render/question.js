// @ts-check
// The agent asks one or more questions with options: pick, then send, or dismiss.
import { el } from '../../dom.js'
import { answer, askCard, resolveAsk } from './ask.js'

/**
 * A question as opencode asks it (the contract passes it through unchanged).
 * @typedef {{ header?: string, question?: string, multiple?: boolean, options?: (string | { label: string, description?: string })[] }} Question
 */

/** @param {import('../types.js').EventData<'question.asked'>} data */
export function questionAsked(data) {
  /** @type {Question[]} */
  const questions = Array.isArray(data.questions) ? data.questions : []
  const a = askCard('question', data.questionId, questions.length > 1 ? 'The agent has questions' : 'The agent asks')
  /** @param {unknown} body */
  const send = (body) => answer(a, 'question', data.questionId, body)
  /** @type {Set<string>[]} */
  const chosen = questions.map(() => new Set())
  // One single-choice question: a click on an option is the answer. Otherwise pick, then send.
  const oneClick = questions.length === 1 && !questions[0]?.multiple
  questions.forEach((q, i) => {
    const picked = /** @type {Set<string>} */ (chosen[i])
    a.node.append(el('p', { class: 'question-text' }, q.header ? el('strong', { text: `${q.header}: ` }) : null, q.question || ''))
    const buttons = el('div', { class: 'buttons' })
    for (const opt of q.options || []) {
      const label = typeof opt === 'string' ? opt : opt.label
      const title = typeof opt === 'string' ? undefined : opt.description || undefined
      buttons.append(el('button', { type: 'button', 'data-label': label, title, 'aria-pressed': 'false', text: label, onclick: () => {
        if (oneClick) return send({ answers: [[label]] })
        if (!q.multiple) picked.clear()
        if (picked.has(label)) picked.delete(label)
        else picked.add(label)
        for (const b of buttons.querySelectorAll('button')) b.setAttribute('aria-pressed', String(picked.has(b.dataset.label ?? '')))
      } }))
    }
    a.node.append(buttons)
  })
  a.node.append(el('div', { class: 'buttons' },
    oneClick ? null : el('button', { type: 'button', class: 'primary', 'data-action': 'answer', text: 'Send answers', onclick: () => send({ answers: chosen.map((s) => [...s]) }) }),
    el('button', { type: 'button', 'data-action': 'reject', text: 'Dismiss', onclick: () => send({ reject: true }) })))
}

/** @param {import('../types.js').EventData<'question.resolved'>} data */
export function questionResolved(data) {
  const answers = /** @type {string[][]} */ (data.answers || [])
  resolveAsk('question', data.questionId, data.rejected
    ? `dismissed${data.reason ? ` (${data.reason})` : ''}`
    : `answered: ${answers.map((a) => a.join(', ')).join(' / ')}`)
}
