// @ts-check
// The sandbox's state and its start, step by step: only what sandbox.status said, nothing invented.
import { $, el } from '../../dom.js'
import { append } from '../log.js'
import { badge } from '../page.js'

/** @typedef {import('../types.js').EventData<'sandbox.status'>} SandboxStatus */
/**
 * A step the sandbox reports while starting: a provisioning step of src/sandbox/provision.ts, a
 * shortcut past them (a warm sandbox, a resumed one, one from a snapshot), or ready.
 * @typedef {import('../../../src/sandbox/provision').ProvisionStep | 'snapshot' | 'warm' | 'resuming' | 'ready'} Step
 */
/** @typedef {{ state: 'current' | 'done' | 'skipped', at?: number, took?: number }} StepState */

/** A fresh sandbox's steps, in the order it takes them. @type {Step[]} */
const START_STEPS = ['creating', 'cloning', 'updating', 'writing_files', 'setup', 'saving_snapshot', 'starting_agent', 'ready']
/** A warm or resumed sandbox skips the boot steps: its list is that one step, then ready. @type {Step[]} */
const SHORTCUTS = ['warm', 'resuming']
/** @type {Record<Step, string>} */
const LABELS = {
  creating: 'creating the sandbox', cloning: 'cloning the repository', updating: 'updating the snapshot to the ref', writing_files: 'writing files',
  setup: 'running setup', saving_snapshot: 'saving a snapshot of the prepared workspace', starting_agent: 'starting the agent', ready: 'ready',
  warm: 'taken from the warm pool', resuming: 'resuming the paused sandbox', snapshot: 'from a snapshot',
}
/** The states after which the sandbox is not starting any more. */
const STOPPED = ['lost', 'stopped', 'restarting', 'paused']

/** @type {Map<string, StepState>} */
let steps = new Map()
/** `from a snapshot (12 s old)`: the snapshot step's label, with the age its detail gives */
let snapshotLabel = LABELS.snapshot

/** @returns {Step[]} */
function stepOrder() {
  for (const shortcut of SHORTCUTS) if (steps.has(shortcut)) return [shortcut, 'ready']
  return steps.has('snapshot') ? ['snapshot', ...START_STEPS] : START_STEPS
}

/** The step that was running is over at `at`. @param {number} at */
function finishCurrent(at) {
  for (const s of steps.values()) {
    if (s.state !== 'current') continue
    s.state = 'done'
    s.took = at - (s.at ?? at)
  }
}

/** @param {SandboxStatus['step']} reported @param {string | undefined} detail @param {number} at */
function starting(reported, detail, at) {
  // A sandbox asked for is being created: one step on this page.
  const step = reported === 'provisioning' ? 'creating' : reported
  if (step === 'snapshot') snapshotLabel = detail ? `from a snapshot (${detail})` : LABELS.snapshot
  if ((step === 'creating' && !steps.has('snapshot')) || step === 'snapshot' || SHORTCUTS.includes(/** @type {Step} */ (step))) steps = new Map()
  finishCurrent(at)
  // earlier steps that never came were skipped (no repository, no setup, ...)
  const idx = START_STEPS.indexOf(/** @type {Step} */ (step))
  for (const name of START_STEPS.slice(0, Math.max(0, idx))) if (!steps.has(name)) steps.set(name, { state: 'skipped' })
  steps.set(step, { state: 'current', at })
}

/** @param {number} at */
function ready(at) {
  finishCurrent(at)
  for (const name of stepOrder()) if (!steps.has(name) && name !== 'ready') steps.set(name, { state: 'skipped' })
  steps.set('ready', { state: 'done' })
}

/** @param {string} step */
const labelOf = (step) => (step === 'snapshot' ? snapshotLabel : LABELS[/** @type {Step} */ (step)] ?? step)

function renderSteps() {
  const list = $('progress')
  list.replaceChildren()
  if (steps.size === 0) return
  const names = stepOrder()
  for (const name of names) {
    const s = steps.get(name)
    const li = el('li', { 'data-step': name, 'data-state': s ? s.state : 'todo' }, labelOf(name))
    if (s && s.took !== undefined) li.append(el('span', { class: 'took', text: `${(s.took / 1000).toFixed(1)} s` }))
    list.append(li)
  }
  // a step this page does not know of yet, shown as the sandbox named it
  for (const [name, s] of steps) {
    if (!names.includes(/** @type {Step} */ (name))) list.append(el('li', { 'data-step': name, 'data-state': s.state }, name))
  }
}

/** @param {SandboxStatus} data */
export function sandboxStatus(data) {
  badge('sandbox-state', data.state)
  const at = Date.parse(data.at)
  if (data.state === 'starting') starting(data.step, data.detail, at)
  else if (data.state === 'ready') ready(at)
  else if (STOPPED.includes(data.state)) {
    for (const s of steps.values()) if (s.state === 'current') s.state = 'skipped'
    append(el('div', { class: 'file-change', text: `sandbox ${data.state}: ${data.detail ?? data.step.replaceAll('_', ' ')}` }))
  }
  renderSteps()
}

export function resetSandbox() {
  steps = new Map()
  snapshotLabel = LABELS.snapshot
  renderSteps()
  badge('sandbox-state', 'none')
}
