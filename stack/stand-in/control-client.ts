import type { CallRecord } from './call-log.js'
import type {
  FunctionSeed,
  RegistryImage,
  RepositorySeed,
  StandInSettings
} from './control-types.js'
import type { ArmedFault, FaultSpec } from './faults.js'
import type { FunctionStateRequest } from './lambda-control.js'
import type { FunctionRecord, RepositoryRecord } from './state.js'

export type { CallRecord } from './call-log.js'
export type { FunctionSeed, RegistryImage, RepositorySeed } from './control-types.js'
export type { ArmedFault, FaultKind, FaultSpec } from './faults.js'

/** A CloudWatch alarm to create in an account and region. */
export interface AlarmSeed {
  readonly account: string
  readonly region: string
  readonly name: string
  /** Default MetricAlarm. */
  readonly type?: 'MetricAlarm' | 'CompositeAlarm'
  readonly state?: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'
  readonly reason?: string
}

export type AlarmStateChange = Required<Omit<AlarmSeed, 'type'>>

/** The stand-in's whole state, as GET /_stand-in/state gives it. */
export interface StandInStateSnapshot {
  readonly settings: StandInSettings
  readonly repositories: RepositoryRecord[]
  readonly functions: FunctionRecord[]
}

/** A fault as the test writes it: `times` defaults to 1. */
export type FaultRequest = Omit<FaultSpec, 'times'> & { readonly times?: number }

/**
 * A typed client for the stand-in's control API, for tests and the demo: seed repositories and
 * functions, inject faults, and read back the state, the call log and the real registry.
 */
export class StandInControl {
  constructor(readonly url: string) {}

  /** Forgets every repository, function, fault, call and registry token; restores the start-up
   * settings and every principal's identity policies from stack/topology.json. */
  async reset(): Promise<void> {
    await this.send('POST', 'reset')
  }

  async createRepository(seed: RepositorySeed): Promise<void> {
    await this.send('POST', 'repositories', seed)
  }

  async createFunction(seed: FunctionSeed): Promise<void> {
    await this.send('POST', 'functions', seed)
  }

  /** Puts a function into a State (lambda-control.ts): Pending for pendingMs, Inactive, Failed. */
  async setFunctionState(request: FunctionStateRequest): Promise<void> {
    await this.send('POST', 'functions/state', request)
  }

  /** Creates (or replaces) a CloudWatch alarm; it starts INSUFFICIENT_DATA unless a state is
   * given (cloudwatch.ts). */
  async createAlarm(alarm: AlarmSeed): Promise<void> {
    await this.send('POST', 'alarms', alarm)
  }

  /** Sets an alarm's state and reason, as CloudWatch's SetAlarmState does. */
  async setAlarmState(alarm: AlarmStateChange): Promise<void> {
    await this.send('PUT', 'alarms/state', alarm)
  }

  /** How long accepted Lambda updates stay InProgress from now on. */
  async setUpdateDelay(updateDelayMs: number): Promise<void> {
    await this.send('PUT', 'settings', { updateDelayMs })
  }

  /** Replaces every identity-based policy of a user or role (policy name → document). */
  async setIdentityPolicies(principal: string, policies: Record<string, unknown>): Promise<void> {
    await this.send('PUT', 'identity-policies', { principal, policies })
  }

  async identityPolicies(principal: string): Promise<Record<string, unknown>> {
    return JSON.parse(
      await this.send('GET', `identity-policies?principal=${encodeURIComponent(principal)}`)
    ) as Record<string, unknown>
  }

  async injectFault(fault: FaultRequest): Promise<void> {
    await this.send('POST', 'faults', { times: 1, ...fault })
  }

  /** Arms several faults at once (all or none); every fault armed since the last clear. */
  async injectFaults(faults: readonly FaultRequest[]): Promise<ArmedFault[]> {
    const armed = await this.send(
      'POST',
      'faults',
      faults.map(fault => ({ times: 1, ...fault }))
    )
    return JSON.parse(armed) as ArmedFault[]
  }

  /** Every fault armed since the last clear, spent ones included, with how often each fired. */
  async faults(): Promise<ArmedFault[]> {
    return JSON.parse(await this.send('GET', 'faults')) as ArmedFault[]
  }

  async clearFaults(): Promise<void> {
    await this.send('DELETE', 'faults')
  }

  async state(): Promise<StandInStateSnapshot> {
    return JSON.parse(await this.stateText()) as StandInStateSnapshot
  }

  /** The state as canonical JSON (sorted keys): equal states give equal text. */
  async stateText(): Promise<string> {
    return this.send('GET', 'state')
  }

  async calls(): Promise<CallRecord[]> {
    return JSON.parse(await this.send('GET', 'calls')) as CallRecord[]
  }

  async clearCalls(): Promise<void> {
    await this.send('DELETE', 'calls')
  }

  /** The repository's policy text, or undefined when it has none. */
  async repositoryPolicy(
    account: string,
    region: string,
    name: string
  ): Promise<string | undefined> {
    const answer = JSON.parse(
      await this.send('GET', `repository-policy?${locator(account, region, name)}`)
    ) as { policyText: string | null }
    return answer.policyText ?? undefined
  }

  /** The tags the real registry holds for a repository (none when it never got a push). */
  async registryTags(account: string, region: string, name: string): Promise<string[]> {
    const answer = JSON.parse(
      await this.send('GET', `registry/tags?${locator(account, region, name)}`)
    ) as { tags: string[] }
    return answer.tags
  }

  /** Moves an image to the archive storage class (ecr-archive.ts); `at` epoch ms, default now. */
  async archiveImage(
    account: string,
    region: string,
    name: string,
    digest: string,
    at?: number
  ): Promise<void> {
    await this.send('POST', 'images/archive', { account, region, name, digest, at })
  }

  /** Records the image's last pull at `at` (epoch ms), as ECR's lastRecordedPullTime. */
  async recordPull(
    account: string,
    region: string,
    name: string,
    digest: string,
    at: number
  ): Promise<void> {
    await this.send('POST', 'images/pulled', { account, region, name, digest, at })
  }

  /** A manifest from the real registry by tag or digest, with its image config. */
  async registryManifest(
    account: string,
    region: string,
    name: string,
    reference: string
  ): Promise<RegistryImage> {
    const query = `${locator(account, region, name)}&reference=${encodeURIComponent(reference)}`
    return JSON.parse(await this.send('GET', `registry/manifest?${query}`)) as RegistryImage
  }

  private async send(method: string, route: string, body?: unknown): Promise<string> {
    const request = () =>
      fetch(`${this.url}/_stand-in/${route}`, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body)
      })
    let response: Response
    try {
      response = await request()
    } catch (error) {
      // A kept-alive connection the server closed just as it was reused is reset before the
      // request reaches the server (seen under load in the fault suite); send it once more.
      if (!isConnectionReset(error)) throw error
      response = await request()
    }
    const text = await response.text()
    if (!response.ok) {
      throw new Error(`stand-in control ${method} ${route} failed (${response.status}): ${text}`)
    }
    return text
  }
}

function isConnectionReset(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause
  // By the cause's code: the TypeError of fetch may come from another realm (jest's VM).
  return cause?.code === 'ECONNRESET'
}

function locator(account: string, region: string, name: string): string {
  return new URLSearchParams({ account, region, name }).toString()
}
