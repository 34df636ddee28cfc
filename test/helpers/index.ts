// The helpers every test project shares. Those that start things of their own (own-stack.ts,
// standin.ts) are imported by path, so that a file pays only for what it uses.
export * from './stack'
export * from './http'
export * from './sse'
export * from './wait'
export * from './processes'
export * from './scripted'
export * from './repos'
export * from './logs'
export * from './runs'
export * from './agent-gateway'
