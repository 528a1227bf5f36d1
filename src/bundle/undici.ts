/**
 * What the bundle has in place of the npm package undici (tsconfig.json "paths", which ncc
 * follows). @actions/core imports @actions/http-client for its OIDC client, and http-client
 * imports undici at its top only for ProxyAgent, used by HttpClient.getAgentDispatcher() alone:
 * nothing in the action calls that, nor getIDToken(). The real undici is the largest package in
 * the bundle, and parsing and starting it took about a fifth of every run's start-up (issue 25).
 * Node's own fetch has an undici of its own and does not use this. Jest resolves node_modules as
 * usual, so tests load the real package. The minifier may drop this class as well, since nothing
 * reaches it; a ProxyAgent would then be a ReferenceError. Either way the tests pin that nothing
 * makes one, and that dist/ holds no undici (__tests__/unit/bundle-undici.test.ts).
 */
export class ProxyAgent {
  constructor() {
    throw new Error(
      'undici is left out of the bundle (src/bundle/undici.ts): nothing in the action may use a ProxyAgent.'
    )
  }
}
