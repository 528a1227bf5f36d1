import { readFileSync } from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import { REGISTRY_CA_FILE } from './registry-client.js'
import { GATE_HEADER } from './registry-tokens.js'
import type { RegistryEndpoint } from './topology.js'

/**
 * Whether an ECR registry of the stack sits behind the registry gate (stack/registry-gate.ts).
 * A stack set up before the gate existed serves the registry directly, which knows only its own
 * password: there GetAuthorizationToken must hand out that password, and registry requests are
 * not authorized per principal (the README-policy e2e suite checks that the gate is there).
 * Answers are kept a few seconds: setup.sh may put the gate in place while a stand-in runs.
 */

const REMEMBER_MS = 5000
const PROBE_TIMEOUT_MS = 3000

export class RegistryGateProbe {
  private readonly known = new Map<string, { gated: boolean; at: number }>()

  constructor(private readonly stateDir: string) {}

  async gated(endpoint: RegistryEndpoint): Promise<boolean> {
    const remembered = this.known.get(endpoint.host)
    if (remembered && Date.now() - remembered.at < REMEMBER_MS) return remembered.gated
    const gated = await this.probe(endpoint)
    this.known.set(endpoint.host, { gated, at: Date.now() })
    return gated
  }

  private probe(endpoint: RegistryEndpoint): Promise<boolean> {
    let ca: Buffer
    try {
      ca = readFileSync(path.join(this.stateDir, REGISTRY_CA_FILE))
    } catch {
      return Promise.resolve(false)
    }
    return new Promise(resolve => {
      const request = https.request(
        {
          host: endpoint.ip ?? endpoint.host,
          servername: endpoint.host,
          port: endpoint.port ?? 443,
          method: 'GET',
          path: '/v2/',
          ca,
          timeout: PROBE_TIMEOUT_MS,
          headers: { host: endpoint.host }
        },
        response => {
          response.resume()
          resolve(response.headers[GATE_HEADER] !== undefined)
        }
      )
      request.on('timeout', () => request.destroy())
      request.on('error', () => resolve(false))
      request.end()
    })
  }
}
