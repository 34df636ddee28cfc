/**
 * The layer rules of src/ and its import cycles, checked by `npm run check:cycles` (part of
 * `npm test`; the name is older than the layer rules). Imports go one way, down these tiers: a
 * module may import its own tier and any tier below it.
 *
 *   entry     src/index.ts, src/api/, src/client/
 *   objects   src/session/, src/runs/, src/schedules/, src/guard/, src/tenant/, src/pool/, src/config/readiness.ts
 *   services  src/sandbox/, src/opencode/, src/events/, src/gateway/, src/github/,
 *             src/config/ (settings, their checks, the bundled settings)
 *   base      src/contracts/, src/lib/, src/config/timings.ts
 *
 * src/env.ts and src/durable-objects.ts are the bindings: every tier but the base may use them,
 * and they hold only types and stubs, so they import nothing of ours but types.
 *
 * Type-only imports count: a lower layer that names an upper layer's type still changes when it
 * does, and `import type` would otherwise be a one-word way around every rule. The one upward edge
 * the design has, an adapter implementing the port it plugs into, is allowed by name below.
 */
const ENTRY = '^src/(index\\.ts$|api/|client/)'
const OBJECTS = '^src/(session/|runs/|schedules/|guard/|tenant/|pool/|config/readiness\\.ts$)'
const SERVICES = '^src/(sandbox/|opencode/|acp/|events/|gateway/|github/|config/(?!readiness\\.ts$|timings\\.ts$))'
const BASE = '^src/(contracts/|lib/|config/timings\\.ts$)'
const BINDINGS = '^src/(env|durable-objects)\\.ts$'
/** The classes the runtime instantiates; only the Worker's entry exports them. */
const DURABLE_OBJECT_CLASSES = '^src/(session/durable-object|runs/durable-object|schedules/durable-object|guard/durable-object|tenant/durable-object|pool/durable-object)\\.ts$'
/** The session's ports: an adapter below may implement them (src/opencode/agent.ts implements AgentPort). */
const SESSION_PORTS = '^src/session/ports\\.ts$'

/** Every rule is an error: a break fails `npm test`. */
const rule = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to })

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    rule('no-circular', 'No import cycle among source files, type-only imports included.', { path: '^src/' }, { circular: true }),
    rule('base-imports-only-base', 'src/contracts/ and src/lib/ are the lowest layer: they import nothing else of ours.', { path: BASE }, { path: '^src/', pathNot: BASE }),
    rule('services-not-upward', 'sandbox/, opencode/, events/, gateway/, github/ and the settings know nothing of the session, runs, tenants or routes.', { path: SERVICES }, { path: [OBJECTS, ENTRY], pathNot: SESSION_PORTS }),
    rule('ports-implemented-by-type', "An adapter may name the session's port it implements, as a type only.", { path: SERVICES }, { path: SESSION_PORTS, dependencyTypesNot: ['type-only'] }),
    rule('objects-not-to-routes', 'session/, runs/ and tenant/ are called by the routes and never call them.', { path: OBJECTS }, { path: ENTRY }),
    rule('session-and-runs-apart', 'session/ and runs/ never import each other: they reach one another through src/durable-objects.ts.', { path: '^src/(session|runs)/' }, { path: '^src/(session|runs)/', pathNot: '^src/$1/' }),
    rule('no-durable-object-class', "Nothing imports a Durable Object class but the Worker's entry: callers use its RPC interface in src/durable-objects.ts.", { pathNot: '^src/index\\.ts$' }, { path: DURABLE_OBJECT_CLASSES }),
    rule('bindings-hold-types', 'src/env.ts and src/durable-objects.ts declare shapes: they run none of our code.', { path: BINDINGS }, { path: '^src/', dependencyTypesNot: ['type-only'] }),
  ],
  options: {
    includeOnly: '^src/',
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports are dependencies too (see above).
    tsPreCompilationDeps: true,
    // Node's own modules and cloudflare:workers are the platform, not ours.
    exclude: { path: '^(node:|cloudflare:)' },
    cache: false,
  },
}
