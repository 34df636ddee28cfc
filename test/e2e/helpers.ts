// The e2e files' import point, kept so that they import from one place: the helpers themselves live in test/helpers.
export * from '../helpers'
