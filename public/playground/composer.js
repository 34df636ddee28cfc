// @ts-check
// The message box and the files for the next message: from the picker, or images pasted into the box.
import { $, button, el, input } from '../dom.js'
import { acceptOf, loadRules, read, refusal, size } from './attachments.js'
import { call, sessionPath } from './api.js'
import { refreshControls } from './controls.js'
import { fail, notice } from './page.js'
import { tab } from './state.js'

/** files to send with the next message */
/** @type {import('./attachments.js').PendingFile[]} */
let pending = []
/** One batch at a time, so that a paste during a pick counts and names against every file before it. */
let adding = Promise.resolve()

const box = () => /** @type {HTMLTextAreaElement} */ ($('message'))

function renderPending() {
  $('attachments').replaceChildren(...pending.map((f, i) => el('li', { class: 'attachment', 'data-filename': f.filename, 'data-mime': f.mime },
    // the user's own file, shown back to them
    f.mime.startsWith('image/') ? el('img', { src: `data:${f.mime};base64,${f.data}`, alt: '' }) : null,
    el('span', { text: `${f.filename} (${size(f.size)})` }),
    el('button', { type: 'button', class: 'link remove', title: `Remove ${f.filename}`, text: '✕',
      onclick: () => { pending.splice(i, 1); renderPending() } }))))
}

export function clearPending() {
  pending = []
  renderPending()
}

/** @param {File[]} files */
function addFiles(files) {
  adding = adding.then(() => addNow(files))
  return adding
}

/** @param {File[]} files */
async function addNow(files) {
  notice('')
  let rules
  try {
    rules = await loadRules()
  } catch (err) {
    return fail(err)
  }
  for (const file of files) {
    const why = refusal(rules, pending.length, file)
    if (why) {
      notice(why)
      continue
    }
    try {
      pending.push(await read(file, pending.length))
    } catch (err) {
      fail(err)
    }
  }
  renderPending()
}

async function send() {
  const text = box().value
  if (!tab.sessionId) return
  if (!text.trim()) {
    if (pending.length) notice('Say something about the files too: a message needs text.')
    return
  }
  button('send').disabled = true
  const sent = [...pending]
  const body = sent.length ? { text, attachments: sent.map(({ filename, mime, data }) => ({ filename, mime, data })) } : { text }
  try {
    const res = await call('POST', sessionPath('/messages'), body)
    box().value = ''
    pending = pending.filter((f) => !sent.includes(f)) // files added while it was sending wait for the next message
    renderPending()
    notice(res.queued ? 'Queued: it goes to the agent once the sandbox is ready and earlier turns are done.' : '')
  } catch (err) {
    fail(err)
  } finally {
    refreshControls()
  }
}

export function initComposer() {
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault()
    send()
  })
  box().addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault()
      send()
    }
  })
  $('attach').addEventListener('click', () => $('attach-input').click())
  input('attach-input').addEventListener('change', async () => {
    const picker = input('attach-input')
    const files = [...(picker.files ?? [])]
    picker.value = '' // the same file may be picked again
    await addFiles(files)
  })
  box().addEventListener('paste', (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])]
    if (!files.length) return
    // Only a file (a screenshot): nothing to paste as text. With text too, the text pastes as well.
    if (!e.clipboardData?.getData('text/plain')) e.preventDefault()
    addFiles(files)
  })
  loadRules().then((r) => input('attach-input').setAttribute('accept', acceptOf(r)), () => { /* told when a file is added */ })
}
