import type { IncomingMessage, ServerResponse } from 'node:http'
import { FUNCTION_DEFAULTS, LAMBDA_ARCHITECTURES } from './aws-wording.js'
import type { CallLog } from './call-log.js'
import { AlarmControlError, seedAlarm, setAlarmState, type AlarmStore } from './cloudwatch.js'
import type { FunctionSeed, RegistryImage, RepositorySeed } from './control-types.js'
import { FaultSpecError, parseFaultSpecs, type FaultPlan } from './faults.js'
import type { RepositoryPolicyLookup } from './iam-authorization.js'
import { PrincipalPolicyError, type IdentityPolicies } from './iam-principals.js'
import { parseImageUri } from './image-reference.js'
import { FunctionStateRequestError, setFunctionState } from './lambda-control.js'
import { applyKindSeed, FunctionKindSeedError } from './lambda-kinds.js'
import { defaultRole, lastModifiedNow, newRevisionId } from './lambda-model.js'
import { authorizeRegistryRequest, type RegistryRequest } from './registry-authorization.js'
import { RegistryUnavailableError, type ImageRegistry } from './registry-client.js'
import { immutableTagRefusal } from './registry-tag-guard.js'
import { archiveImage, archivedPullRefusal } from './ecr-archive.js'
import type { RegistryTokens } from './registry-tokens.js'
import {
  canonicalJson,
  recordKey,
  resetState,
  stateSnapshot,
  type FunctionRecord,
  type LastUpdate,
  type StandInState
} from './state.js'
import { parseTagMutability, type TagMutability } from './tag-mutability.js'
import { isKnownAccount, isKnownRegion, registryEndpoint } from './topology.js'

/**
 * The control API under /_stand-in/: unsigned JSON for tests and the demo to seed the world,
 * inject faults and look at what happened. Not part of any AWS API.
 */

export const CONTROL_PREFIX = '/_stand-in/'

export interface ControlDependencies {
  readonly state: StandInState
  readonly faults: FaultPlan
  readonly calls: CallLog
  readonly registry: ImageRegistry
  /** The updateDelayMs the stand-in started with, restored by reset. */
  readonly initialUpdateDelayMs: number
  readonly identities: IdentityPolicies
  readonly registryTokens: RegistryTokens
  readonly repositoryPolicy: RepositoryPolicyLookup
  /** CloudWatch alarms (cloudwatch.ts). */
  readonly alarms: AlarmStore
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

type Handler = (url: URL, body: unknown) => unknown

export function createControl(deps: ControlDependencies) {
  const { state, faults, calls, registry, identities } = deps
  const routes: Record<string, Handler> = {
    'POST reset': () => {
      resetState(state, deps.initialUpdateDelayMs)
      faults.clear()
      calls.clear()
      identities.reset()
      deps.registryTokens.clear()
      deps.alarms.clear()
      return { ok: true }
    },
    // A principal's identity-based policies (stack/topology.json's defaults until replaced).
    'GET identity-policies': url => identities.of(url.searchParams.get('principal') ?? ''),
    'PUT identity-policies': (_url, body) => {
      const { principal, policies } = (body ?? {}) as { principal?: unknown; policies?: unknown }
      if (typeof principal !== 'string')
        throw new ControlError(400, 'principal (a user or role ARN) is required')
      return identities.replace(principal, policies)
    },
    // The registry gate asks here whether a docker request may pass (stack/registry-gate.ts).
    'POST registry-authorize': async (_url, body) => {
      const request = registryRequest(body)
      const verdict = authorizeRegistryRequest(
        request,
        deps.registryTokens,
        identities,
        deps.repositoryPolicy
      )
      if (!verdict.allowed) return verdict
      // An immutable tag is refused after authorization, as ECR refuses it: only to a principal
      // that may push at all.
      return (
        (await immutableTagRefusal(request, state, registry)) ??
        (await archivedPullRefusal(request, state, registry)) ??
        verdict
      )
    },
    // An image moved to the archive storage class (as a transition rule or UpdateImageStorageClass
    // ARCHIVE would), archivedAt epoch ms (default now); or a recorded pull time (ecr-archive.ts).
    'POST images/archive': (_url, body) => archivedImageSeed(state, body, 'archive'),
    'POST images/pulled': (_url, body) => archivedImageSeed(state, body, 'pulled'),
    'POST repositories': (_url, body) => seedRepository(state, body as RepositorySeed),
    'POST functions': (_url, body) => seedFunction(state, body as FunctionSeed),
    // Function states (Pending, Inactive, Failed): lambda-control.ts.
    'POST functions/state': (_url, body) => setFunctionState(state, body),
    // CloudWatch alarms: create one, and set its state as SetAlarmState does (cloudwatch.ts).
    'POST alarms': (_url, body) => seedAlarm(deps.alarms, body),
    'PUT alarms/state': (_url, body) => setAlarmState(deps.alarms, body),
    'PUT settings': (_url, body) => {
      const delay = (body as { updateDelayMs?: unknown } | null)?.updateDelayMs
      if (typeof delay !== 'number' || delay < 0)
        throw new ControlError(400, 'updateDelayMs must be a number ≥ 0')
      state.settings.updateDelayMs = delay
      return state.settings
    },
    'GET settings': () => state.settings,
    // One fault, or a list armed together (each fires on its own operation and count).
    'POST faults': (_url, body) => {
      for (const spec of parseFaultSpecs(body)) faults.add(spec)
      return faults.list()
    },
    'GET faults': () => faults.list(),
    'DELETE faults': () => {
      faults.clear()
      return []
    },
    'GET state': () => stateSnapshot(state),
    'GET calls': () => calls.list(),
    'DELETE calls': () => {
      calls.clear()
      return []
    },
    'GET repository-policy': url => {
      const { account, region, name } = locator(url)
      const repository = state.repositories.get(recordKey(account, region, name))
      if (!repository) throw new ControlError(404, `No repository ${account}/${region}/${name}`)
      return { policyText: repository.policyText ?? null }
    },
    'GET registry/tags': async url => {
      const { account, region, name } = locator(url)
      return { tags: await registry.tags(endpointOf(account, region), name) }
    },
    'GET registry/manifest': async url => {
      const { account, region, name } = locator(url)
      const reference = url.searchParams.get('reference')
      if (!reference) throw new ControlError(400, 'reference (tag or digest) is required')
      return registryImage(registry, account, region, name, reference)
    }
  }

  return async function handleControl(
    request: IncomingMessage,
    response: ServerResponse,
    rawBody: Buffer
  ): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in')
    const route = routes[`${request.method} ${url.pathname.slice(CONTROL_PREFIX.length)}`]
    try {
      if (!route) throw new ControlError(404, `No control route ${request.method} ${url.pathname}`)
      const body = rawBody.length > 0 ? parseBody(rawBody) : undefined
      reply(response, 200, canonicalJson(await route(url, body)))
    } catch (error) {
      const status =
        error instanceof ControlError
          ? error.status
          : error instanceof FaultSpecError ||
              error instanceof PrincipalPolicyError ||
              error instanceof FunctionStateRequestError ||
              error instanceof AlarmControlError
            ? 400
            : error instanceof RegistryUnavailableError
              ? 503
              : 500
      reply(response, status, JSON.stringify({ error: (error as Error).message }))
    }
  }
}

function registryRequest(body: unknown): RegistryRequest {
  const request = (body ?? {}) as Record<string, unknown>
  for (const key of ['token', 'host', 'method', 'path']) {
    if (typeof request[key] !== 'string') throw new ControlError(400, `${key} is required`)
  }
  return request as unknown as RegistryRequest
}

function seedRepository(state: StandInState, seed: RepositorySeed) {
  checkPlace(seed)
  if (seed.policy !== undefined && typeof seed.policy !== 'string') {
    throw new ControlError(400, 'policy is the policy text, a string')
  }
  const key = recordKey(seed.account, seed.region, seed.name)
  // Seeding again replaces the record (the demo seeds a long-running stand-in on every run).
  const existing = state.repositories.get(key)
  const repository = {
    account: seed.account,
    region: seed.region,
    name: seed.name,
    createdAt: existing?.createdAt ?? Math.floor(Date.now() / 1000),
    policyText: seed.policy,
    tagMutability: tagMutabilityOf(seed)
  }
  state.repositories.set(key, repository)
  return repository
}

/** The seed's tag mutability, checked as CreateRepository checks it. */
function tagMutabilityOf(seed: RepositorySeed): TagMutability {
  try {
    return parseTagMutability({
      imageTagMutability: seed.imageTagMutability,
      imageTagMutabilityExclusionFilters: seed.imageTagMutabilityExclusionFilters
    })
  } catch (error) {
    throw new ControlError(400, error instanceof Error ? error.message : String(error))
  }
}

function seedFunction(state: StandInState, seed: FunctionSeed): FunctionRecord {
  checkPlace(seed)
  if (seed.packageType !== 'Image' && seed.packageType !== 'Zip') {
    throw new ControlError(400, 'packageType must be "Image" or "Zip"')
  }
  const architectures = seed.architectures ?? FUNCTION_DEFAULTS.architectures
  if (
    architectures.length !== 1 ||
    !LAMBDA_ARCHITECTURES.includes(architectures[0] as (typeof LAMBDA_ARCHITECTURES)[number])
  ) {
    throw new ControlError(400, `architectures must be one of ${LAMBDA_ARCHITECTURES.join(', ')}`)
  }
  const image = seed.imageUri ? parseImageUri(seed.imageUri) : undefined
  if (seed.imageUri && !image)
    throw new ControlError(400, `imageUri ${seed.imageUri} is not an ECR image URI`)
  const fn: FunctionRecord = {
    account: seed.account,
    region: seed.region,
    name: seed.name,
    packageType: seed.packageType,
    code: {
      imageUri: seed.imageUri,
      resolvedImageUri: image?.digest ? `${image.repositoryUri}@${image.digest}` : undefined,
      codeSha256: seed.codeSha256 ?? image?.digest?.replace(/^sha256:/, '') ?? '',
      codeSize: 0
    },
    settings: {
      description: seed.description ?? '',
      role: seed.role ?? defaultRole(seed.account),
      timeout: seed.timeout ?? FUNCTION_DEFAULTS.timeout,
      memorySize: seed.memorySize ?? FUNCTION_DEFAULTS.memorySize,
      architectures: [...architectures],
      environment: seed.environment,
      imageConfig: seed.imageConfig,
      runtime: seed.packageType === 'Zip' ? (seed.runtime ?? 'nodejs20.x') : undefined,
      handler: seed.packageType === 'Zip' ? (seed.handler ?? 'index.handler') : undefined
    },
    lastModified: lastModifiedNow(),
    revisionId: newRevisionId(),
    lastUpdate: seededUpdate(state, seed),
    // A seeded function is one created long ago; tests put it into another state through
    // POST /_stand-in/functions/state (lambda-control.ts).
    state: { name: 'Active' },
    versions: [],
    aliases: {}
  }
  // Lambda Managed Instances and durable functions (lambda-kinds.ts).
  try {
    applyKindSeed(fn, seed)
  } catch (error) {
    if (error instanceof FunctionKindSeedError) throw new ControlError(400, error.message)
    throw error
  }
  state.functions.set(recordKey(seed.account, seed.region, seed.name), fn)
  return fn
}

function seededUpdate(state: StandInState, seed: FunctionSeed): LastUpdate {
  switch (seed.lastUpdateStatus ?? 'Successful') {
    case 'Successful':
      return { status: 'Successful' }
    case 'Failed':
      return {
        status: 'Failed',
        reason: seed.lastUpdateStatusReason,
        reasonCode: seed.lastUpdateStatusReasonCode
      }
    case 'InProgress':
      return {
        status: 'InProgress',
        completesAt: Date.now() + state.settings.updateDelayMs,
        outcome: { status: 'Successful' }
      }
    default:
      throw new ControlError(400, 'lastUpdateStatus must be Successful, InProgress or Failed')
  }
}

function checkPlace(
  seed: { account?: unknown; region?: unknown; name?: unknown } | null | undefined
): void {
  if (!seed || typeof seed !== 'object')
    throw new ControlError(400, 'The body must be a JSON object')
  if (typeof seed.account !== 'string' || !isKnownAccount(seed.account)) {
    throw new ControlError(400, `account ${String(seed.account)} is not in stack/topology.json`)
  }
  if (typeof seed.region !== 'string' || !isKnownRegion(seed.region)) {
    throw new ControlError(400, `region ${String(seed.region)} is not in stack/topology.json`)
  }
  if (typeof seed.name !== 'string' || seed.name === '')
    throw new ControlError(400, 'name is required')
}

function archivedImageSeed(state: StandInState, body: unknown, what: 'archive' | 'pulled') {
  const { account, region, name, digest, at } = (body ?? {}) as Record<string, unknown>
  if (typeof account !== 'string' || typeof region !== 'string' || typeof name !== 'string')
    throw new ControlError(400, 'account, region and name are required')
  if (typeof digest !== 'string' || !digest.startsWith('sha256:'))
    throw new ControlError(400, 'digest (sha256:...) is required')
  if (at !== undefined && typeof at !== 'number')
    throw new ControlError(400, 'at must be epoch milliseconds')
  const repository = state.repositories.get(recordKey(account, region, name))
  if (!repository) throw new ControlError(404, `No repository ${account}/${region}/${name}`)
  const when = at ?? Date.now()
  if (what === 'archive') archiveImage(repository, digest, when)
  else repository.imagePulledAt = { ...repository.imagePulledAt, [digest]: when }
  return { ok: true }
}

function locator(url: URL): { account: string; region: string; name: string } {
  const [account, region, name] = ['account', 'region', 'name'].map(key =>
    url.searchParams.get(key)
  )
  if (!account || !region || !name)
    throw new ControlError(400, 'account, region and name are required')
  return { account, region, name }
}

function endpointOf(account: string, region: string) {
  const endpoint = registryEndpoint(account, region)
  if (!endpoint)
    throw new ControlError(404, `stack/topology.json has no registry for ${account} in ${region}`)
  return endpoint
}

async function registryImage(
  registry: ImageRegistry,
  account: string,
  region: string,
  name: string,
  reference: string
): Promise<RegistryImage> {
  const endpoint = endpointOf(account, region)
  const manifest = await registry.manifest(endpoint, name, reference)
  if (!manifest) throw new ControlError(404, `The registry has no ${name}:${reference}`)
  return {
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    body: manifest.body,
    manifest: JSON.parse(manifest.body) as Record<string, unknown>,
    config: (await registry.imageConfig(endpoint, name, manifest)) ?? {}
  }
}

function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    throw new ControlError(400, 'The body is not JSON')
  }
}

function reply(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body)
  })
  response.end(body)
}
