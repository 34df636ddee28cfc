// @ts-check
// What the buttons ask of the API for the session this tab shows. Their outcome comes back as
// events on the stream; only failures and a few answers are said in the notice line.
import { $, button, input } from '../dom.js'
import { call, sessionPath } from './api.js'
import { refreshControls } from './controls.js'
import { fail, notice } from './page.js'
import { switchTo } from './session.js'

/** Starts a session, with the repository of the form if one is given and the agent picked, and shows it. */
export async function start() {
  notice('')
  const url = input('repo-url').value.trim()
  const ref = input('repo-ref').value.trim()
  const runtime = /** @type {HTMLSelectElement} */ ($('runtime')).value
  /** @type {Record<string, unknown>} */
  const body = url ? { repo: ref ? { url, ref } : { url } } : {}
  // opencode is the default: a body without it stays what it always was.
  if (runtime !== 'opencode') body.runtime = runtime
  button('start').disabled = true
  try {
    switchTo(await call('POST', '/v1/sessions', body))
  } catch (err) {
    fail(err)
  } finally {
    refreshControls()
  }
}

/** Takes the conversation and the workspace back to before this user message. @param {string} messageId */
export async function undo(messageId) {
  try {
    await call('POST', sessionPath('/revert'), { messageId })
    notice('')
  } catch (err) {
    fail(err)
  }
}

/** Forks the session (at a turn, or all of it) and shows the new one. @param {string} [messageId] */
export async function fork(messageId) {
  notice('Forking: copying the workspace…')
  try {
    const session = await call('POST', sessionPath('/fork'), messageId ? { messageId } : {})
    notice('')
    switchTo(session)
  } catch (err) {
    fail(err)
  }
}

export async function redo() {
  try {
    await call('POST', sessionPath('/unrevert'))
  } catch (err) {
    fail(err)
  }
}

export async function abort() {
  try {
    const res = await call('POST', sessionPath('/abort'), {})
    notice(res.aborted ? 'Aborted the running turn.' : 'Nothing was running.')
  } catch (err) {
    fail(err)
  }
}

export async function end() {
  try {
    await call('DELETE', sessionPath())
  } catch (err) {
    fail(err)
  }
}
