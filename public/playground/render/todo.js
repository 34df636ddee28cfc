// @ts-check
// The agent's todo list, from GET /v1/sessions/:id until the stream brings a newer one.
import { $, el } from '../../dom.js'

/** @typedef {import('../types.js').EventData<'todo.updated'>['items']} TodoItems */

/** a todo.updated event was applied: newer than what GET /v1/sessions/:id said */
let seen = false

/** @param {TodoItems} items */
function renderTodos(items) {
  $('todos').replaceChildren(...items.map((t) =>
    el('li', { 'data-todo-id': t.id, 'data-status': t.status, 'data-priority': t.priority },
      el('span', { class: 'todo-content', text: t.content }),
      t.priority ? el('span', { class: 'badge todo-priority', 'data-v': t.priority, text: t.priority }) : null)))
  $('todo-card').hidden = items.length === 0
}

/** @param {import('../types.js').EventData<'todo.updated'>} data */
export function todoUpdated(data) {
  seen = true
  renderTodos(data.items)
}

/** The list as the session reported it, unless an event already brought a newer one. @param {TodoItems} items */
export function initialTodos(items) {
  if (!seen) renderTodos(items)
}

export function resetTodos() {
  seen = false
  renderTodos([])
}
