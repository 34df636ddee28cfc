/**
 * The parts an object calls that are built after it. A session's parts call each other both ways
 * (a turn prompts the agent, the agent's events end the turn), so its composition root
 * (session/compose) builds every part first and then joins each to the ones it calls, once,
 * before any call.
 */
export class Neighbours<T extends object> {
  #of: T | undefined

  join(of: T) {
    this.#of = of
  }

  get of(): T {
    if (!this.#of) throw new Error('a part was called before it was joined to its neighbours')
    return this.#of
  }
}
