// The playground: plain JS against the API of this same origin.
// - The API key lives in memory and this tab's sessionStorage, and goes only into Authorization headers.
// - The event stream is an EventSource on ?token= (a short-lived session token from POST /tokens),
//   refreshed before it expires; every event is applied once, by its id.
// - After a reload, the session id comes back from sessionStorage and the conversation is rebuilt
//   by replaying the session's events from the start, then following live ones. Reopening a
//   session from the tenant's list (GET /v1/sessions) does the same.
// - A sub-agent's messages and tools (events tagged `subagent`) show inside the task tool call
//   that started it, not in the main conversation.
;(() => {
  'use strict'

  const STORE = { key: 'osw.apiKey', session: 'osw.sessionId', last: 'osw.lastEventId' }
  const EVENT_TYPES = [
    'session.status', 'session.updated', 'sandbox.status', 'message.created', 'message.delta', 'message.completed',
    'tool.updated', 'file.changed', 'permission.requested', 'permission.resolved', 'question.asked',
    'question.resolved', 'error', 'budget.warning', 'session.ended', 'todo.updated', 'session.reverted', 'session.unreverted',
  ]
  const START_STEPS = ['creating', 'cloning', 'updating', 'writing_files', 'setup', 'saving_snapshot', 'starting_agent', 'ready']
  const STEP_LABELS = {
    creating: 'creating the sandbox', cloning: 'cloning the repository', updating: 'updating the snapshot to the ref', writing_files: 'writing files',
    setup: 'running setup', saving_snapshot: 'saving a snapshot of the prepared workspace', starting_agent: 'starting the agent', ready: 'ready', warm: 'taken from the warm pool', resuming: 'resuming the paused sandbox',
  }
  // ?tokenTtl=<seconds> on the page's URL asks for shorter-lived stream tokens (to watch a refresh).
  const pageParams = new URLSearchParams(location.search)
  const TOKEN_TTL = Math.max(10, Math.min(86400, Number(pageParams.get('tokenTtl')) || 600))

  const { $, el } = window.dom
  const store = {
    get: (k) => { try { return sessionStorage.getItem(k) } catch { return null } },
    set: (k, v) => { try { sessionStorage.setItem(k, v) } catch { /* private mode: memory only */ } },
    del: (k) => { try { sessionStorage.removeItem(k) } catch { /* ignore */ } },
  }

  // ---- state ----
  let apiKey = store.get(STORE.key) || ''
  let sessionId = null
  let lastSeq = 0
  let sessionStatus = 'none'
  let ended = false
  let source = null // the EventSource
  let streamGen = 0 // bumps on every (re)open, so stale callbacks do nothing
  let refreshTimer = null
  let retryTimer = null
  let retryDelay = 1000
  /** per message: its bubble and parts */
  const messages = new Map()
  const tools = new Map()
  const asks = new Map()
  /** per task tool call: the box its sub-agent's messages go in */
  const subagents = new Map()
  let steps = new Map() // step -> {at, state}
  /** the undo that POST /unrevert can still take back: the user message and the nodes it hid */
  let undone = null
  let todosSeen = false // a todo.updated event was applied: newer than what GET /v1/sessions/:id said
  let pending = [] // files to send with the next message: {filename, mime, data, size}
  let listCursor = null
  let diffTimer = null

  // ---- HTTP, always with the key in the header ----
  async function call(method, path, body) {
    if (!apiKey) throw new Error('paste an API key first')
    const headers = { authorization: `Bearer ${apiKey}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    let json = null
    try { json = text ? JSON.parse(text) : null } catch { /* not JSON */ }
    if (!res.ok) {
      const err = new Error(json && json.error ? `${json.error.code}: ${json.error.message}` : `${res.status} ${text.slice(0, 200)}`)
      err.status = res.status
      throw err
    }
    return json
  }
  const sessionPath = (suffix = '') => `/v1/sessions/${encodeURIComponent(sessionId)}${suffix}`

  function notice(text) { $('notice').textContent = text || '' }
  function fail(err) { notice(err && err.message ? err.message : String(err)) }

  // ---- UI state ----
  function setBadge(id, value) {
    const b = $(id)
    b.textContent = value
    b.dataset.v = value
  }
  function refreshControls() {
    const hasKey = Boolean(apiKey)
    const live = Boolean(sessionId) && !ended
    $('start').disabled = !hasKey
    $('message').disabled = !live || !hasKey
    $('send').disabled = !live || !hasKey
    $('abort').disabled = !live || sessionStatus !== 'busy'
    $('attach').disabled = !live || !hasKey
    $('end').disabled = !live
    $('leave').disabled = !sessionId
    $('show-diff').disabled = !live || !hasKey
    $('sessions-refresh').disabled = !hasKey
    // Undo needs an idle session: opencode cannot revert under a running turn.
    for (const b of log().querySelectorAll('button.undo')) b.disabled = !live || !hasKey || sessionStatus !== 'idle'
    // So does a fork: the copy is of a session at rest.
    for (const b of log().querySelectorAll('button.fork')) b.disabled = !live || !hasKey || sessionStatus !== 'idle'
    $('fork').disabled = !live || !hasKey || sessionStatus !== 'idle'
    $('redo').disabled = !live || !hasKey || sessionStatus !== 'idle'
    $('forget-key').hidden = !hasKey
    $('key-state').textContent = hasKey
      ? 'Key set for this tab (sessionStorage); sent only in the Authorization header.'
      : 'Kept in this tab only (sessionStorage) and sent only in the Authorization header.'
  }

  const log = () => $('log')
  // The log follows new content while the reader is at its bottom; scrolling up stops that,
  // scrolling back down resumes it.
  let follow = true
  const nearBottom = () => {
    const l = log()
    return l.scrollHeight - l.scrollTop - l.clientHeight < 40
  }
  log().addEventListener('scroll', () => { follow = nearBottom() })
  function stickToBottom() {
    if (follow) log().scrollTop = log().scrollHeight
  }
  function append(node) {
    $('empty')?.remove()
    log().append(node)
    return node
  }

  function resetView() {
    messages.clear()
    tools.clear()
    asks.clear()
    subagents.clear()
    steps = new Map()
    undone = null
    todosSeen = false
    pending = []
    renderPending()
    $('undo-bar').hidden = true
    renderTodos([])
    closeDiff()
    log().replaceChildren()
    follow = true
    renderSteps()
    lastSeq = 0
    ended = false
    sessionStatus = 'none'
    $('last-event-id').textContent = '0'
    $('session-title').textContent = '–'
    setBadge('session-status', 'none')
    setBadge('sandbox-state', 'none')
  }

  // ---- sandbox progress: only what sandbox.status said, nothing invented ----
  function renderSteps() {
    const list = $('progress')
    list.replaceChildren()
    if (steps.size === 0) return
    const names = stepOrder()
    for (const name of names) {
      const s = steps.get(name)
      const state = s ? s.state : 'todo'
      const li = el('li', { 'data-step': name, 'data-state': state }, STEP_LABELS[name] || name)
      if (s && s.took !== undefined) li.append(el('span', { class: 'took', text: `${(s.took / 1000).toFixed(1)} s` }))
      list.append(li)
    }
    for (const [name, s] of steps) {
      if (!names.includes(name)) list.append(el('li', { 'data-step': name, 'data-state': s.state }, name))
    }
  }
  /** A warm or resumed sandbox skips the boot steps: its list is that one step, then ready. */
  function stepOrder() {
    for (const shortcut of ['warm', 'resuming']) if (steps.has(shortcut)) return [shortcut, 'ready']
    return steps.has('snapshot') ? ['snapshot', ...START_STEPS] : START_STEPS
  }
  function onSandbox(data) {
    setBadge('sandbox-state', data.state)
    const at = Date.parse(data.at)
    const finishCurrent = () => {
      for (const s of steps.values()) {
        if (s.state === 'current') {
          s.state = 'done'
          s.took = at - s.at
        }
      }
    }
    if (data.state === 'starting') {
      // `snapshot (12 s old)`: the start that follows is from a snapshot, and the step says how old it is.
      const step = /^snapshot \(/.test(data.reason || '') ? 'snapshot' : data.reason || 'creating'
      if (step === 'snapshot') STEP_LABELS.snapshot = `from a ${data.reason}`
      if ((step === 'creating' && !steps.has('snapshot')) || step === 'snapshot' || step === 'warm' || step === 'resuming') steps = new Map()
      finishCurrent()
      // earlier steps that never came were skipped (no repository, no setup, ...)
      const idx = START_STEPS.indexOf(step)
      for (const name of START_STEPS.slice(0, Math.max(0, idx))) if (!steps.has(name)) steps.set(name, { state: 'skipped' })
      steps.set(step, { state: 'current', at })
    } else if (data.state === 'ready') {
      finishCurrent()
      for (const name of stepOrder()) if (!steps.has(name) && name !== 'ready') steps.set(name, { state: 'skipped' })
      steps.set('ready', { state: 'done' })
    } else if (['lost', 'stopped', 'restarting', 'paused'].includes(data.state)) {
      for (const s of steps.values()) if (s.state === 'current') s.state = 'skipped'
      append(el('div', { class: 'file-change', text: `sandbox ${data.state}${data.reason ? `: ${data.reason}` : ''}` }))
    }
    renderSteps()
  }

  // ---- the conversation ----
  /** A message's bubble: in the log, or in the box of the sub-agent that wrote it. */
  function messageView(messageId, role, subagent) {
    let m = messages.get(messageId)
    if (m) return m
    const node = el('div', { class: `msg ${role}`, 'data-message-id': messageId, 'data-role': role })
    node.append(el('span', { class: 'who', text: role === 'user' ? 'you' : subagent ? subagent.agent : 'agent' }))
    m = { node, role, parts: new Map(), text: null, done: false }
    messages.set(messageId, m)
    if (subagent) subagentBox(subagent).append(node)
    else append(node)
    return m
  }

  /**
   * Where a sub-agent's messages go: a box inside the task tool call that started it. Should the
   * sub-agent speak before that call is shown, the box waits in the log and moves in with the call.
   */
  function subagentBox(sub) {
    let s = subagents.get(sub.callId)
    if (s) return s.body
    const body = el('div', { class: 'subagent-body' })
    const node = el('div', { class: 'subagent', 'data-parent-call': sub.callId, 'data-subagent-session': sub.sessionId, 'data-agent': sub.agent },
      el('div', { class: 'subagent-head', text: `sub-agent: ${sub.agent}` }), body)
    s = { node, body }
    subagents.set(sub.callId, s)
    const call = tools.get(sub.callId)
    if (call) call.node.append(node)
    else append(node)
    return body
  }
  function partView(m, partId, kind) {
    let p = m.parts.get(partId)
    if (p) return p
    const node = el('span', { class: kind === 'reasoning' ? 'reasoning' : 'text', 'data-part-id': partId })
    p = { node, kind }
    m.parts.set(partId, p)
    // text parts go before any tool cards of the message, reasoning before the text
    const firstTool = m.node.querySelector('.tool')
    m.node.insertBefore(node, kind === 'reasoning' ? m.node.querySelector('.text') || firstTool : firstTool)
    return p
  }
  function textOf(m) {
    let t = ''
    for (const p of m.parts.values()) if (p.kind === 'text') t += p.node.textContent
    return t
  }

  function onMessageCreated(data) {
    const fresh = !messages.has(data.messageId)
    // A new message of the user's makes an earlier undo final: what it hid stays gone.
    if (fresh && undone && data.role === 'user' && !data.subagent) settleUndo()
    const m = messageView(data.messageId, data.role, data.subagent)
    if (data.role === 'user' && data.text !== undefined && !m.parts.size) partView(m, 'user', 'text').node.textContent = data.text
    if (data.role === 'user' && fresh) userExtras(m, data)
    // A steered message runs before the messages that were waiting: it is shown there too.
    const overtaken = data.before && messages.get(data.before)
    if (fresh && overtaken) overtaken.node.before(m.node)
    if (data.role === 'assistant' && !m.done) m.node.classList.add('streaming')
  }
  /** Under a user message: the files sent with it (names and sizes; the API keeps no bytes to show) and its undo button. */
  function userExtras(m, data) {
    if (data.attachments && data.attachments.length) {
      m.node.append(el('ul', { class: 'msg-files' }, ...data.attachments.map((a) =>
        el('li', { 'data-filename': a.filename, 'data-mime': a.mime, text: `📎 ${a.filename} (${a.mime}, ${window.attachments.size(a.size)})` }))))
    }
    if (!data.subagent) {
      m.node.append(el('button', { type: 'button', class: 'link undo', title: 'Take the conversation and the workspace back to before this message',
        onclick: () => undo(data.messageId), text: 'Undo from here' }),
      el('button', { type: 'button', class: 'link fork', title: 'A new session with the conversation up to this turn and a copy of the workspace',
        onclick: () => fork(data.messageId), text: 'Fork from here' }))
    }
  }
  function onDelta(data) {
    const m = messageView(data.messageId, 'assistant', data.subagent)
    if (m.done) return
    m.node.classList.add('streaming')
    partView(m, data.partId, data.kind).node.append(data.text)
  }
  function onCompleted(data) {
    const m = messageView(data.messageId, data.role, data.subagent)
    m.done = true
    m.node.classList.remove('streaming')
    m.node.dataset.completed = 'true'
    // The completed text is the whole reply: it also fills in deltas the log compacted away.
    if (data.text && textOf(m) !== data.text) {
      for (const [id, p] of m.parts) if (p.kind === 'text') { p.node.remove(); m.parts.delete(id) }
      partView(m, 'final', 'text').node.textContent = data.text
      m.node.dataset.filled = 'true'
    }
    if (data.error) m.node.append(el('span', { class: 'msg-error', text: `${data.error.code}: ${data.error.message}` }))
  }

  function onTool(data) {
    let t = tools.get(data.callId)
    if (!t) {
      const node = el('div', { class: 'tool', 'data-call-id': data.callId, 'data-tool': data.tool })
      const header = el('header', {},
        el('span', { class: 'tool-name', text: data.tool }),
        el('span', { class: 'badge tool-state' }),
        el('span', { class: 'tool-title' }))
      node.append(header, el('pre', { class: 'tool-input', hidden: true }), el('pre', { class: 'tool-output', hidden: true }))
      const m = messageView(data.messageId, 'assistant', data.subagent)
      m.node.append(node)
      t = { node }
      tools.set(data.callId, t)
      const waiting = subagents.get(data.callId)
      if (waiting) node.append(waiting.node)
    }
    const badge = t.node.querySelector('.tool-state')
    badge.textContent = data.state
    badge.dataset.v = data.state
    t.node.dataset.state = data.state
    if (data.title) t.node.querySelector('.tool-title').textContent = data.title
    if (data.input !== undefined && data.input !== null && Object.keys(data.input).length) {
      const pre = t.node.querySelector('.tool-input')
      pre.hidden = false
      pre.textContent = data.input.command !== undefined ? `$ ${data.input.command}` : JSON.stringify(data.input, null, 2)
    }
    if (data.output !== undefined) {
      const pre = t.node.querySelector('.tool-output')
      pre.hidden = false
      pre.textContent = data.output
    }
  }

  function onFileChanged(data) {
    append(el('div', { class: 'file-change', 'data-path': data.path, text: `✎ ${data.path}${data.change ? ` (${data.change})` : ''}` }))
  }

  function askCard(kind, id, title) {
    const node = el('div', { class: `ask ${kind}`, [`data-${kind}-id`]: id })
    node.append(el('header', {}, el('strong', { text: title })))
    append(node)
    const a = { node, resolved: false }
    asks.set(`${kind}:${id}`, a)
    return a
  }
  function resolveAsk(kind, id, outcome) {
    const a = asks.get(`${kind}:${id}`)
    if (!a || a.resolved) return
    a.resolved = true
    a.node.classList.add('resolved')
    a.node.dataset.outcome = outcome
    for (const b of a.node.querySelectorAll('button')) b.disabled = true
    a.node.append(el('div', { class: 'outcome', text: outcome }))
  }

  function onPermission(data) {
    const a = askCard('permission', data.permissionId, `The agent asks to use ${data.permission}`)
    const meta = data.metadata || {}
    const detail = meta.command || (data.patterns || []).join('\n') || JSON.stringify(meta)
    if (detail) a.node.append(el('pre', { text: detail }))
    const answer = (reply) => async () => {
      for (const b of a.node.querySelectorAll('button')) b.disabled = true
      try {
        await call('POST', sessionPath(`/permissions/${encodeURIComponent(data.permissionId)}`), { reply })
      } catch (err) {
        if (err.status === 404) resolveAsk('permission', data.permissionId, 'already answered')
        else { fail(err); for (const b of a.node.querySelectorAll('button')) b.disabled = a.resolved }
      }
    }
    a.node.append(el('div', { class: 'buttons' },
      el('button', { type: 'button', class: 'primary', 'data-reply': 'once', onclick: answer('once'), text: 'Allow once' }),
      el('button', { type: 'button', 'data-reply': 'always', onclick: answer('always'), text: 'Always allow' }),
      el('button', { type: 'button', 'data-reply': 'reject', onclick: answer('reject'), text: 'Reject' })))
  }

  function onQuestion(data) {
    const questions = Array.isArray(data.questions) ? data.questions : []
    const a = askCard('question', data.questionId, questions.length > 1 ? 'The agent has questions' : 'The agent asks')
    const chosen = questions.map(() => new Set())
    const send = async (body) => {
      for (const b of a.node.querySelectorAll('button')) b.disabled = true
      try {
        await call('POST', sessionPath(`/questions/${encodeURIComponent(data.questionId)}`), body)
      } catch (err) {
        if (err.status === 404) resolveAsk('question', data.questionId, 'already answered')
        else { fail(err); for (const b of a.node.querySelectorAll('button')) b.disabled = a.resolved }
      }
    }
    // One single-choice question: a click on an option is the answer. Otherwise pick, then send.
    const oneClick = questions.length === 1 && !questions[0].multiple
    questions.forEach((q, i) => {
      a.node.append(el('p', { class: 'question-text' }, q.header ? el('strong', { text: `${q.header}: ` }) : null, q.question || ''))
      const buttons = el('div', { class: 'buttons' })
      for (const opt of q.options || []) {
        const label = typeof opt === 'string' ? opt : opt.label
        const button = el('button', { type: 'button', 'data-label': label, title: opt.description || undefined, 'aria-pressed': 'false', text: label })
        button.addEventListener('click', () => {
          if (oneClick) return send({ answers: [[label]] })
          if (!q.multiple) chosen[i].clear()
          if (chosen[i].has(label)) chosen[i].delete(label)
          else chosen[i].add(label)
          for (const b of buttons.querySelectorAll('button')) b.setAttribute('aria-pressed', String(chosen[i].has(b.dataset.label)))
        })
        buttons.append(button)
      }
      a.node.append(buttons)
    })
    const actions = el('div', { class: 'buttons' })
    if (!oneClick) {
      actions.append(el('button', { type: 'button', class: 'primary', 'data-action': 'answer', text: 'Send answers',
        onclick: () => send({ answers: chosen.map((s) => [...s]) }) }))
    }
    actions.append(el('button', { type: 'button', 'data-action': 'reject', text: 'Dismiss', onclick: () => send({ reject: true }) }))
    a.node.append(actions)
  }

  // ---- the agent's todo list ----
  function renderTodos(items) {
    $('todos').replaceChildren(...items.map((t) =>
      el('li', { 'data-todo-id': t.id, 'data-status': t.status, 'data-priority': t.priority },
        el('span', { class: 'todo-content', text: t.content }),
        t.priority ? el('span', { class: 'badge todo-priority', 'data-v': t.priority, text: t.priority }) : null)))
    $('todo-card').hidden = items.length === 0
  }

  // ---- undo and redo ----
  /** Greys out the reverted message and everything after it while a redo can bring them back. */
  function onReverted(data) {
    const m = messages.get(data.messageId)
    const nodes = []
    for (let n = m ? m.node : null; n; n = n.nextElementSibling) {
      if (n.classList.contains('reverted')) continue
      n.classList.add('reverted')
      nodes.push(n)
    }
    undone = { messageId: data.messageId, nodes }
    $('undo-bar').hidden = false
    diffLater()
  }
  function onUnreverted() {
    for (const n of undone ? undone.nodes : []) n.classList.remove('reverted')
    undone = null
    $('undo-bar').hidden = true
    diffLater()
  }
  function settleUndo() {
    for (const n of undone.nodes) n.hidden = true
    undone = null
    $('undo-bar').hidden = true
  }
  async function undo(messageId) {
    try {
      await call('POST', sessionPath('/revert'), { messageId })
      notice('')
    } catch (err) {
      fail(err)
    }
  }

  /** Forks the session (at a turn, or all of it) and opens the new one. */
  async function fork(messageId) {
    notice('Forking: copying the workspace…')
    try {
      const session = await call('POST', sessionPath('/fork'), messageId ? { messageId } : {})
      notice('')
      switchTo(session)
    } catch (err) {
      fail(err)
    }
  }

  // ---- the workspace's changes ----
  async function showDiff() {
    const id = sessionId
    $('diff').hidden = false
    $('diff-state').textContent = 'loading…'
    try {
      const diff = await call('GET', sessionPath('/diff'))
      if (id !== sessionId || $('diff').hidden) return
      $('diff-files').replaceChildren(...window.diffView.render(diff))
      $('diff-state').textContent = `${diff.files.length} file${diff.files.length === 1 ? '' : 's'}, as of ${new Date().toLocaleTimeString()}`
    } catch (err) {
      if (id === sessionId) $('diff-state').textContent = err.message
    }
  }
  /** An open diff follows the workspace: shown again after a turn, an undo or a redo. */
  function diffLater() {
    if ($('diff').hidden) return
    clearTimeout(diffTimer)
    diffTimer = setTimeout(showDiff, 300)
  }
  function closeDiff() {
    clearTimeout(diffTimer)
    $('diff').hidden = true
    $('diff-files').replaceChildren()
  }

  function apply(type, data) {
    switch (type) {
      case 'session.status':
        sessionStatus = data.status
        setBadge('session-status', data.status)
        if (data.status === 'idle') diffLater()
        if (data.status === 'failed') append(el('div', { class: 'event-error', text: `session failed${data.reason ? `: ${data.reason}` : ''}` }))
        break
      case 'session.updated': $('session-title').textContent = data.title; break
      case 'todo.updated':
        todosSeen = true
        renderTodos(data.items)
        break
      case 'session.reverted': onReverted(data); break
      case 'session.unreverted': onUnreverted(); break
      case 'sandbox.status': onSandbox(data); break
      case 'message.created': onMessageCreated(data); break
      case 'message.delta': onDelta(data); break
      case 'message.completed': onCompleted(data); break
      case 'tool.updated': onTool(data); break
      case 'file.changed': onFileChanged(data); break
      case 'permission.requested': onPermission(data); break
      case 'permission.resolved':
        resolveAsk('permission', data.permissionId, `answered: ${data.reply}${data.reason ? ` (${data.reason})` : ''}`)
        break
      case 'question.asked': onQuestion(data); break
      case 'question.resolved':
        resolveAsk('question', data.questionId, data.rejected
          ? `dismissed${data.reason ? ` (${data.reason})` : ''}`
          : `answered: ${(data.answers || []).map((a) => a.join(', ')).join(' / ')}`)
        break
      case 'error':
        append(el('div', { class: 'event-error', text: `${data.code}: ${data.message}` }))
        break
      case 'budget.warning':
        append(el('div', { class: 'event-error', text: `budget: ${data.message}` }))
        break
      case 'session.ended':
        ended = true
        sessionStatus = 'ended'
        setBadge('session-status', 'ended')
        append(el('div', { class: 'file-change', text: `session ended (${data.reason})` }))
        closeStream('ended')
        break
    }
    refreshControls()
  }

  // ---- the stream ----
  function onFrame(e) {
    const seq = Number(e.lastEventId)
    if (!Number.isInteger(seq) || seq <= lastSeq) return // seen already
    lastSeq = seq
    store.set(STORE.last, String(seq))
    $('last-event-id').textContent = String(seq)
    let data
    try { data = JSON.parse(e.data) } catch { return }
    apply(e.type, data)
    stickToBottom()
  }

  function closeStream(state = 'closed') {
    streamGen++
    clearTimeout(refreshTimer)
    clearTimeout(retryTimer)
    if (source) source.close()
    source = null
    setBadge('stream-state', state)
  }

  /** Opens (or reopens, with a fresh token) the stream after the last event applied. */
  async function openStream() {
    closeStream('connecting')
    const gen = streamGen
    let issued
    try {
      issued = await call('POST', sessionPath('/tokens'), { ttlSeconds: TOKEN_TTL })
    } catch (err) {
      if (gen !== streamGen) return
      if (err.status === 404 || err.status === 401) {
        fail(err)
        setBadge('stream-state', 'closed')
        return
      }
      retryLater(gen)
      return
    }
    if (gen !== streamGen) return
    const url = `${sessionPath('/events')}?token=${encodeURIComponent(issued.token)}&after=${lastSeq}`
    const es = new EventSource(url)
    source = es
    for (const type of EVENT_TYPES) es.addEventListener(type, onFrame)
    es.onopen = () => {
      if (gen !== streamGen) return
      retryDelay = 1000
      setBadge('stream-state', 'open')
    }
    es.onerror = () => {
      if (gen !== streamGen || ended) return
      // CONNECTING: the browser reconnects by itself, with Last-Event-ID. CLOSED: it gave up
      // (an expired token answers 401), so ask for a new token and open again.
      if (es.readyState === EventSource.CLOSED) retryLater(gen)
      else setBadge('stream-state', 'connecting')
    }
    // A new token, and a new stream from the last event, well before this one expires.
    const ttlMs = Date.parse(issued.expiresAt) - Date.now()
    const early = Math.min(60_000, ttlMs / 3)
    refreshTimer = setTimeout(() => { if (gen === streamGen && !ended) openStream() }, Math.max(1000, ttlMs - early))
  }

  function retryLater(gen) {
    if (gen !== streamGen) return
    if (source) source.close()
    source = null
    setBadge('stream-state', 'connecting')
    clearTimeout(retryTimer)
    retryTimer = setTimeout(() => { if (gen === streamGen && !ended) openStream() }, retryDelay)
    retryDelay = Math.min(retryDelay * 2, 30_000)
  }

  // ---- actions ----
  function useSession(id) {
    sessionId = id
    store.set(STORE.session, id)
    $('session-id').textContent = id
    markCurrent()
    refreshControls()
    openStream()
    loadFacts(id)
  }

  /** What the session says of itself now: the todo list, until the stream brings a newer one. */
  async function loadFacts(id) {
    try {
      const s = await call('GET', `/v1/sessions/${encodeURIComponent(id)}`)
      if (id === sessionId && !todosSeen) renderTodos(s.todos || [])
    } catch { /* the stream says what is wrong with the session */ }
  }

  function leave() {
    closeStream()
    sessionId = null
    store.del(STORE.session)
    store.del(STORE.last)
    resetView()
    $('session-id').textContent = '–'
    markCurrent()
    refreshControls()
    loadSessions()
  }

  // ---- the tenant's sessions, to reopen one ----
  async function loadSessions(more = false) {
    if (!apiKey) return
    try {
      const query = more && listCursor ? `&cursor=${encodeURIComponent(listCursor)}` : ''
      const page = await call('GET', `/v1/sessions?limit=20${query}`)
      if (!more) $('sessions').replaceChildren()
      $('sessions').append(...page.items.map(sessionItem))
      listCursor = page.nextCursor
      $('sessions-more').hidden = !listCursor
      $('sessions-empty').textContent = 'No sessions yet.'
      $('sessions-empty').hidden = $('sessions').children.length > 0
      markCurrent()
    } catch (err) {
      fail(err)
    }
  }
  function sessionItem(s) {
    return el('li', { 'data-session-id': s.id },
      el('button', { type: 'button', class: 'link open-session', title: s.id, onclick: () => reopen(s.id), text: s.title || s.id }),
      el('span', { class: 'badge', 'data-v': s.status, text: s.status }),
      el('span', { class: 'muted when', text: new Date(s.createdAt).toLocaleString() }))
  }
  function markCurrent() {
    for (const li of $('sessions').children) li.classList.toggle('current', li.dataset.sessionId === sessionId)
  }
  /** Shows another session: its conversation replayed from its first event, then live. */
  function reopen(id) {
    if (id === sessionId) return
    notice('')
    closeStream()
    resetView()
    useSession(id)
  }
  $('sessions-refresh').addEventListener('click', () => loadSessions())
  $('sessions-more').addEventListener('click', () => loadSessions(true))

  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const value = $('api-key').value.trim()
    if (!value) return
    apiKey = value
    store.set(STORE.key, value)
    $('api-key').value = ''
    notice('')
    refreshControls()
    loadSessions()
    if (sessionId && !source && !ended) openStream()
  })
  $('forget-key').addEventListener('click', () => {
    apiKey = ''
    store.del(STORE.key)
    $('sessions').replaceChildren()
    $('sessions-more').hidden = true
    $('sessions-empty').hidden = false
    refreshControls()
  })

  $('start-form').addEventListener('submit', async (e) => {
    e.preventDefault()
    notice('')
    const url = $('repo-url').value.trim()
    const ref = $('repo-ref').value.trim()
    const body = {}
    if (url) body.repo = ref ? { url, ref } : { url }
    $('start').disabled = true
    try {
      switchTo(await call('POST', '/v1/sessions', body))
    } catch (err) {
      fail(err)
    } finally {
      refreshControls()
    }
  })

  /** Shows a session this page just made (started or forked), from its first event. */
  function switchTo(session) {
    closeStream()
    resetView()
    setBadge('session-status', session.status)
    sessionStatus = session.status
    useSession(session.id)
    loadSessions()
    $('message').focus()
  }

  async function send() {
    const text = $('message').value
    if (!sessionId) return
    if (!text.trim()) {
      if (pending.length) notice('Say something about the files too: a message needs text.')
      return
    }
    $('send').disabled = true
    const body = { text }
    const sent = [...pending]
    if (sent.length) body.attachments = sent.map(({ filename, mime, data }) => ({ filename, mime, data }))
    try {
      const res = await call('POST', sessionPath('/messages'), body)
      $('message').value = ''
      pending = pending.filter((f) => !sent.includes(f)) // files added while it was sending wait for the next message
      renderPending()
      notice(res.queued ? 'Queued: it goes to the agent once the sandbox is ready and earlier turns are done.' : '')
    } catch (err) {
      fail(err)
    } finally {
      refreshControls()
    }
  }
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault()
    send()
  })
  $('message').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault()
      send()
    }
  })

  // ---- files for the next message: the picker, or images pasted into the message box ----
  // One batch at a time, so that a paste during a pick counts and names against every file before it.
  let adding = Promise.resolve()
  function addFiles(files) {
    adding = adding.then(() => addNow(files))
    return adding
  }
  async function addNow(files) {
    notice('')
    let rules
    try {
      rules = await window.attachments.loadRules()
    } catch (err) {
      return fail(err)
    }
    for (const file of files) {
      const why = window.attachments.refusal(rules, pending.length, file)
      if (why) {
        notice(why)
        continue
      }
      try {
        pending.push(await window.attachments.read(file, pending.length))
      } catch (err) {
        fail(err)
      }
    }
    renderPending()
  }
  function renderPending() {
    $('attachments').replaceChildren(...pending.map((f, i) => el('li', { class: 'attachment', 'data-filename': f.filename, 'data-mime': f.mime },
      // the user's own file, shown back to them
      f.mime.startsWith('image/') ? el('img', { src: `data:${f.mime};base64,${f.data}`, alt: '' }) : null,
      el('span', { text: `${f.filename} (${window.attachments.size(f.size)})` }),
      el('button', { type: 'button', class: 'link remove', title: `Remove ${f.filename}`, text: '✕',
        onclick: () => { pending.splice(i, 1); renderPending() } }))))
  }
  $('attach').addEventListener('click', () => $('attach-input').click())
  $('attach-input').addEventListener('change', async (e) => {
    const files = [...e.target.files]
    e.target.value = '' // the same file may be picked again
    await addFiles(files)
  })
  $('message').addEventListener('paste', (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])]
    if (!files.length) return
    // Only a file (a screenshot): nothing to paste as text. With text too, the text pastes as well.
    if (!e.clipboardData.getData('text/plain')) e.preventDefault()
    addFiles(files)
  })
  window.attachments.loadRules().then((r) => $('attach-input').setAttribute('accept', window.attachments.acceptOf(r)), () => { /* told when a file is added */ })

  $('show-diff').addEventListener('click', showDiff)
  $('diff-refresh').addEventListener('click', showDiff)
  $('diff-close').addEventListener('click', closeDiff)
  $('redo').addEventListener('click', async () => {
    try {
      await call('POST', sessionPath('/unrevert'))
    } catch (err) {
      fail(err)
    }
  })

  $('abort').addEventListener('click', async () => {
    try {
      const res = await call('POST', sessionPath('/abort'), {})
      notice(res.aborted ? 'Aborted the running turn.' : 'Nothing was running.')
    } catch (err) {
      fail(err)
    }
  })

  $('end').addEventListener('click', async () => {
    try {
      await call('DELETE', sessionPath())
    } catch (err) {
      fail(err)
    }
  })
  $('leave').addEventListener('click', leave)
  $('fork').addEventListener('click', () => fork())

  // ---- start: pick up where this tab left off ----
  resetView()
  const saved = store.get(STORE.session)
  refreshControls()
  loadSessions()
  if (saved) {
    // Replaying from 0 rebuilds the whole conversation; live events follow without a gap.
    $('session-id').textContent = saved
    sessionId = saved
    refreshControls()
    if (apiKey) {
      openStream()
      loadFacts(saved)
    } else notice('Paste the API key again to reconnect to the session of this tab.')
  }
})()
