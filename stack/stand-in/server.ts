import { randomUUID } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  ECR_MESSAGES,
  ECR_TARGET_PREFIX,
  LAMBDA_MESSAGES,
  LAMBDA_PATH_PREFIX,
  LAMBDA_THROTTLE_REASON,
  SIGNING_NAMES,
  STS_MESSAGES,
  type ServiceName
} from './aws-wording.js'
import { CallLog } from './call-log.js'
import { CLOUDWATCH_TARGET_PREFIX, createCloudWatch, type AlarmStore } from './cloudwatch.js'
import { CONTROL_PREFIX, createControl } from './control.js'
import { createEcr } from './ecr.js'
import { BEFORE_CALL_KINDS, FaultPlan, INJECTED_SERVER_ERROR, type FaultSpec } from './faults.js'
import {
  accessDenied,
  cloudwatchPermissions,
  ecrPermissions,
  firstRefusal,
  imagePullDenied,
  lambdaPermissions,
  stsPermissions,
  type RepositoryPolicyLookup
} from './iam-authorization.js'
import { IdentityPolicies } from './iam-principals.js'
import type { DockerEngine } from '../../src/adapters/docker.js'
import { createLambda } from './lambda.js'
import { createInvoke, type InvokeAnswer } from './lambda-invoke.js'
import { functionArn, parseFunctionName } from './lambda-model.js'
import { LAMBDA_CREATE_PATH, matchLambdaRoute, type LambdaRoute } from './lambda-routes.js'
import { RegistryClient, type ImageRegistry } from './registry-client.js'
import { RegistryGateProbe } from './registry-gate-probe.js'
import { RegistryTokens } from './registry-tokens.js'
import { AuthFailure, authenticate, authError, type Caller } from './sigv4.js'
import { createState, recordKey, settleUpdates } from './state.js'
import { callSts, stsAction } from './sts.js'
import { topology } from './topology.js'
import { AwsError, lambdaError, writeError, writeResult, type Protocol } from './wire.js'

/**
 * One local HTTP server that answers as ECR, Lambda and STS do on the wire, so the action and
 * the tests reach it only through the SDK's endpoint settings (AWS_ENDPOINT_URL_ECR, ..._LAMBDA,
 * ..._STS). Every AWS request must carry a valid SigV4 signature from a topology.json key (or
 * an AssumeRole session's key with its session token), and is then authorized against the
 * caller's identity policies (and the repository policy for ECR repositories) before any
 * handler sees it: iam-authorization.ts maps each operation to its IAM action and resource.
 */

export interface StandInOptions {
  /** Default: topology.json's standIn.host. */
  readonly host?: string
  /** 0 (the default) picks a free port. */
  readonly port?: number
  /** Where the registry password and CA are; default topology.json's stateDir. */
  readonly stateDir?: string
  /** How long an accepted Lambda update stays InProgress; default 0. */
  readonly updateDelayMs?: number
  /** The registry behind ECR; default the real one stack/setup.sh runs (unit tests pass a
   * MemoryRegistry so that they need no Docker). */
  readonly registry?: ImageRegistry
  /** Runs functions for Invoke; default: the docker CLI's engine (DOCKER_HOST when set), which
   * pulls from the registries under stateDir's credential. */
  readonly docker?: DockerEngine
  /** Hand out per-principal registry tokens even where the registry has no gate (a test that
   * runs a gate of its own); default: only where the registry is behind the gate. */
  readonly perPrincipalRegistryTokens?: boolean
}

export interface StandIn {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

/** Which service a request is for, decided from the request alone (before authentication). */
interface Addressed {
  readonly service: ServiceName
  readonly protocol: Protocol
  readonly operation: string
  readonly lambdaRoute?: LambdaRoute
}

export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const initialUpdateDelayMs = options.updateDelayMs ?? 0
  const state = createState(initialUpdateDelayMs)
  const faults = new FaultPlan()
  const calls = new CallLog()
  const stateDir = options.stateDir ?? topology.stateDir
  const registry = options.registry ?? new RegistryClient(stateDir)
  // With the real registries, whether they have the gate is probed; a registry passed in (unit
  // tests' MemoryRegistry) is taken to authorize per principal.
  const gateProbe =
    options.registry || options.perPrincipalRegistryTokens
      ? undefined
      : new RegistryGateProbe(stateDir)
  const ecr = createEcr({ state, registry, faults })
  const lambda = createLambda({
    state,
    registry,
    faults,
    invoke: createInvoke({ stateDir, docker: options.docker })
  })
  const alarms: AlarmStore = new Map()
  const cloudwatch = createCloudWatch(alarms)
  const identities = new IdentityPolicies()
  const registryTokens = new RegistryTokens()
  const repositoryPolicy: RepositoryPolicyLookup = (account, region, name) =>
    state.repositories.get(recordKey(account, region, name))?.policyText
  const control = createControl({
    state,
    faults,
    calls,
    registry,
    initialUpdateDelayMs,
    identities,
    registryTokens,
    repositoryPolicy,
    alarms
  })
  let port = 0

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request)
    settleUpdates(state)
    const rawUrl = request.url ?? '/'
    const url = new URL(rawUrl, 'http://stand-in')
    if (url.pathname.startsWith(CONTROL_PREFIX)) return control(request, response, body)

    const addressed = address(request, url, body)
    if (!addressed) {
      response.writeHead(404, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          message: `The stand-in serves ECR, Lambda and STS; nothing answers ${request.method} ${url.pathname}`
        })
      )
      return
    }
    const requestId = randomUUID()
    let caller: Caller | undefined
    let status: number
    try {
      caller = await authenticate(
        {
          method: request.method ?? 'GET',
          path: rawUrl.split('?')[0] ?? '/',
          query: queryOf(url),
          headers: request.headers,
          body
        },
        SIGNING_NAMES[addressed.service]
      )
      authorize(addressed, caller, url, body)
      await applyFault(
        faults.take(addressed.service, addressed.operation, BEFORE_CALL_KINDS),
        addressed,
        caller
      )
      const answer = await dispatch(addressed, caller, url, body, request.headers)
      if (answer.raw) {
        response.writeHead(answer.raw.status, {
          ...answer.raw.headers,
          'x-amzn-RequestId': requestId,
          'content-length': String(answer.raw.body.length)
        })
        response.end(answer.raw.body)
      } else {
        writeResult(response, addressed.protocol, answer.status, answer.body, requestId)
      }
      status = answer.status
    } catch (error) {
      const awsError = asAwsError(error, addressed)
      writeError(response, addressed.protocol, awsError, requestId)
      status = awsError.status
    }
    calls.add({
      service: addressed.service,
      operation: addressed.operation,
      account: caller?.account ?? '',
      region: caller?.region ?? '',
      status
    })
  }

  /** Refuses the request unless the caller's policies allow every permission it needs. */
  function authorize(addressed: Addressed, caller: Caller, url: URL, body: Buffer): void {
    const check = (permissions: Parameters<typeof firstRefusal>[0]) =>
      firstRefusal(permissions, caller, identities, repositoryPolicy)
    switch (addressed.service) {
      case 'ecr': {
        const refused = check(ecrPermissions(addressed.operation, lenientJson(body), caller))
        if (refused) throw accessDenied('ecr', refused.message)
        return
      }
      case 'lambda': {
        if (!addressed.lambdaRoute) return
        const needed = lambdaPermissions(
          addressed.lambdaRoute,
          queryOf(url),
          lenientJson(body),
          caller
        )
        const refused = check(needed.own)
        if (refused) throw accessDenied('lambda', refused.message)
        if (check(needed.imagePull)) throw imagePullDenied()
        return
      }
      case 'sts': {
        const refused = check(stsPermissions(addressed.operation, body))
        if (refused) throw accessDenied('sts', refused.message)
        return
      }
      case 'cloudwatch': {
        const refused = check(cloudwatchPermissions(addressed.operation, lenientJson(body), caller))
        if (refused) throw accessDenied('cloudwatch', refused.message)
      }
    }
  }

  async function dispatch(
    addressed: Addressed,
    caller: Caller,
    url: URL,
    body: Buffer,
    headers: IncomingMessage['headers']
  ): Promise<{ status: number; body: unknown; raw?: InvokeAnswer }> {
    switch (addressed.service) {
      case 'ecr': {
        if (!ecr.has(addressed.operation)) {
          throw new AwsError(
            'UnknownOperationException',
            ECR_MESSAGES.unknownOperation(addressed.operation),
            400
          )
        }
        const input = parseJsonBody(
          body,
          () => new AwsError('SerializationException', ECR_MESSAGES.notJson, 400)
        )
        const answer = await ecr.call(addressed.operation, input, caller)
        if (addressed.operation === 'GetAuthorizationToken') {
          return { status: 200, body: await withCallerTokens(answer, caller) }
        }
        return { status: 200, body: answer }
      }
      case 'lambda': {
        if (!addressed.lambdaRoute) {
          throw lambdaError(
            'UnknownOperationException',
            LAMBDA_MESSAGES.unknownOperation('?', url.pathname)
          )
        }
        // Invoke's body is the event, any JSON value; lambda-invoke.ts reads it.
        const invoke = addressed.lambdaRoute.operation === 'Invoke'
        const input = invoke
          ? {}
          : parseJsonBody(body, () =>
              lambdaError('InvalidRequestContentException', LAMBDA_MESSAGES.invalidJson)
            )
        return lambda.call(
          {
            route: addressed.lambdaRoute,
            query: queryOf(url),
            body: input,
            raw: invoke ? { body, headers } : undefined
          },
          caller
        )
      }
      case 'sts':
        return { status: 200, body: callSts(addressed.operation, caller, body) }
      case 'cloudwatch': {
        if (!cloudwatch.has(addressed.operation)) {
          throw new AwsError(
            'UnknownOperationException',
            `The stand-in's CloudWatch answers DescribeAlarms only, not ${addressed.operation}`,
            400
          )
        }
        const input = parseJsonBody(
          body,
          () => new AwsError('SerializationException', ECR_MESSAGES.notJson, 400)
        )
        return { status: 200, body: cloudwatch.call(addressed.operation, input, caller) }
      }
    }
  }

  /** GetAuthorizationToken hands out a password of the caller's own, so that the registry gate
   * authorizes docker's requests as this caller (registry-tokens.ts); a registry without the
   * gate (a stack set up before it existed) gets the registry's own password, as before. */
  async function withCallerTokens(answer: unknown, caller: Caller): Promise<unknown> {
    const data = (answer as { authorizationData?: Record<string, unknown>[] }).authorizationData
    const entries = await Promise.all(
      (data ?? []).map(async entry => {
        const endpoint = topology.ecrRegistries.find(
          registry => `https://${registry.host}` === entry.proxyEndpoint
        )
        const perPrincipal =
          !gateProbe || (endpoint !== undefined && (await gateProbe.gated(endpoint)))
        if (!perPrincipal) return entry
        const token = registryTokens.issue(caller, port)
        return { ...entry, authorizationToken: Buffer.from(`AWS:${token}`).toString('base64') }
      })
    )
    return { ...(answer as object), authorizationData: entries }
  }

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error('stand-in: unexpected failure', error)
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ message: (error as Error).message }))
    })
  })
  const host = options.host ?? topology.standIn.host
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close(error => (error ? reject(error) : resolve()))
        // SDK clients keep connections alive; they must not hold the close open.
        server.closeAllConnections()
      })
  }
}

function address(request: IncomingMessage, url: URL, body: Buffer): Addressed | undefined {
  const target = request.headers['x-amz-target']
  if (typeof target === 'string' && target.startsWith(`${ECR_TARGET_PREFIX}.`)) {
    return {
      service: 'ecr',
      protocol: 'json',
      operation: target.slice(ECR_TARGET_PREFIX.length + 1)
    }
  }
  // The JSON answer goes out with ECR's JSON 1.1 content type; the SDK's JSON 1.0 reader parses
  // the body whatever the header says.
  if (typeof target === 'string' && target.startsWith(`${CLOUDWATCH_TARGET_PREFIX}.`)) {
    return {
      service: 'cloudwatch',
      protocol: 'json',
      operation: target.slice(CLOUDWATCH_TARGET_PREFIX.length + 1)
    }
  }
  if (url.pathname.startsWith(LAMBDA_PATH_PREFIX) || url.pathname === LAMBDA_CREATE_PATH) {
    const route = matchLambdaRoute(request.method ?? 'GET', url.pathname)
    return {
      service: 'lambda',
      protocol: 'rest-json',
      operation: route?.operation ?? 'Unknown',
      lambdaRoute: route
    }
  }
  if (request.method === 'POST' && url.pathname === '/') {
    const action = stsAction(body)
    if (action) return { service: 'sts', protocol: 'query', operation: action }
  }
  return undefined
}

async function applyFault(
  fault: FaultSpec | undefined,
  addressed: Addressed,
  caller: Caller
): Promise<void> {
  if (!fault) return
  switch (fault.kind) {
    case 'slow':
      // Unref'd: a slow answer the client gave up on must not keep a closed stand-in's process up.
      await new Promise(resolve => setTimeout(resolve, fault.delayMs ?? 1000).unref())
      return
    case 'throttle':
      throw throttled(addressed.service)
    case 'server-error':
      throw internalError(addressed.service, INJECTED_SERVER_ERROR)
    case 'conflict': {
      const name = parseFunctionName(addressed.lambdaRoute?.functionName ?? '')
      const arn = functionArn(
        name?.account ?? caller.account,
        name?.region ?? caller.region,
        name?.name ?? addressed.lambdaRoute?.functionName ?? ''
      )
      throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.updateInProgress(arn))
    }
    default:
      return
  }
}

/** Throttling as each service reports it (Lambda: 429 with Retry-After, others: 400). */
function throttled(service: ServiceName): AwsError {
  switch (service) {
    case 'ecr':
      return new AwsError('ThrottlingException', ECR_MESSAGES.throttled, 400)
    case 'lambda':
      return lambdaError(
        'TooManyRequestsException',
        LAMBDA_MESSAGES.throttled,
        { Reason: LAMBDA_THROTTLE_REASON },
        { 'Retry-After': '1' }
      )
    case 'sts':
      return new AwsError('Throttling', STS_MESSAGES.throttled, 400)
    case 'cloudwatch':
      // Query-compatible CloudWatch names it Throttling (API reference, Common Errors).
      return new AwsError('Throttling', STS_MESSAGES.throttled, 400)
  }
}

function internalError(service: ServiceName, message: string): AwsError {
  switch (service) {
    case 'ecr':
      return new AwsError('ServerException', message, 500)
    case 'lambda':
      return lambdaError('ServiceException', message)
    case 'sts':
    case 'cloudwatch':
      return new AwsError('InternalFailure', message, 500)
  }
}

function asAwsError(error: unknown, addressed: Addressed): AwsError {
  if (error instanceof AwsError) return error
  if (error instanceof AuthFailure) return authError(error, addressed.protocol)
  console.error(`stand-in: ${addressed.service}:${addressed.operation} failed`, error)
  return internalError(addressed.service, `stand-in internal error: ${(error as Error).message}`)
}

function parseJsonBody(body: Buffer, invalid: () => AwsError): Record<string, unknown> {
  if (body.length === 0) return {}
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid()
    return parsed as Record<string, unknown>
  } catch (error) {
    if (error instanceof AwsError) throw error
    throw invalid()
  }
}

/** The JSON body for authorization only; a body that is not JSON is refused later by the
 * operation itself, in its own words. */
function lenientJson(body: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  for (const [key, value] of url.searchParams) {
    const existing = query[key]
    query[key] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value]
  }
  return query
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', reject)
  })
}
