import packageJson from '../../package.json' with { type: 'json' }
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { ECRClient } from '@aws-sdk/client-ecr'
import { LambdaClient } from '@aws-sdk/client-lambda'
import type { STSClient } from '@aws-sdk/client-sts'
import type { AwsCredentialIdentityProvider } from '@smithy/types'
import { MAX_FUNCTION_TIMEOUT_SECONDS } from '../domain/lambda-runtime.js'
import type { AlarmReader } from './cloudwatch.js'
import type { ContainerRegistry } from './ecr.js'
import type { ImageRetention } from './ecr-retention.js'
import { createFunctionService, type FunctionService } from './lambda.js'
import { createFunctionInvoker, type FunctionInvoker } from './lambda-invoke.js'
import { createReleaseService, type ReleaseService } from './lambda-releases.js'
import { createVersionReader, type VersionReader } from './lambda-versions.js'

/**
 * The one place SDK clients are made. Endpoints and credentials come from the SDK's standard
 * settings (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_CLOUDWATCH,
 * AWS_MAX_ATTEMPTS, ...), so the action
 * has no test-only paths. Every call is bounded: a few attempts with the SDK's adaptive retry
 * mode (exponential back-off, and a client-side rate limit once AWS throttles), a time limit per
 * attempt, and a deadline for the call as a whole, so a hung endpoint fails the step instead of
 * the job's six-hour limit.
 */
export interface AwsServices {
  registry(region: string): ContainerRegistry
  /** Lambda in a region; with a role ARN, as that role (for functions in another account). */
  functions(region: string, roleArn?: string): FunctionService
  releases(region: string, roleArn?: string): ReleaseService
  /** What ECR keeps: image existence and lifecycle policy previews. */
  retention(region: string): ImageRetention
  /** A function's published versions and aliases. */
  versions(region: string, roleArn?: string): VersionReader
  /** Lambda's Invoke, for the verify step: one attempt, with a time-out of its own per call. */
  invoker(region: string, roleArn?: string): FunctionInvoker
  /** CloudWatch alarms in a region, read with the role that deploys functions there. */
  alarms(region: string, roleArn?: string): AlarmReader
  /** The account of the workflow's own credentials (one STS call, remembered). */
  callerAccount(): Promise<string>
}

/** package.json's name and version, bundled: a release bundles dist/ again (scripts/release.sh). */
const USER_AGENT: [string, string][] = [[packageJson.name, packageJson.version]]

/** Attempts per call (the SDK's default is 3): rides out a burst of throttling or 5xx. */
export const MAX_ATTEMPTS = 5
/** Time to open a connection, and time an attempt may take once the request is sent. */
export const CONNECTION_TIMEOUT_MS = 5_000
export const ATTEMPT_TIMEOUT_MS = 30_000
/** One call, all attempts and back-off included (the SDK caps one back-off at 20 s). */
export const CALL_DEADLINE_MS = 120_000

/** Lambda's longest function timeout (15 minutes) and a minute for the call around it. */
const INVOKE_REQUEST_TIMEOUT_MS = (MAX_FUNCTION_TIMEOUT_SECONDS + 60) * 1000

type ProcessEnvironment = Readonly<Record<string, string | undefined>>

/** What every SDK client of the action is made with: its retries, time-outs and user agent. */
export function sdkClientSettings(region: string, env: ProcessEnvironment = process.env) {
  return {
    region,
    customUserAgent: USER_AGENT,
    retryMode: 'adaptive' as const,
    // AWS_MAX_ATTEMPTS, when the workflow sets it, is the SDK's to read.
    maxAttempts: env.AWS_MAX_ATTEMPTS ? undefined : MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: ATTEMPT_TIMEOUT_MS,
      throwOnRequestTimeout: true
    }
  }
}

/**
 * The SDK clients and adapters a run may not need are loaded at their first call, so that the
 * runner's `node` parses and starts only what the run uses (issue 25: start-up). Lambda is loaded
 * with the action: a deploy's first call is Lambda's. ECR comes at the first registry call,
 * STS only for a cross-account role or the caller's account, CloudWatch only for a rollout that
 * watches alarms. The bundler emits each import() below as a file of its own next to index.js.
 */
const loadEcr = once(() =>
  Promise.all([import('@aws-sdk/client-ecr'), import('./ecr.js'), import('./ecr-retention.js')])
)
const loadSts = once(() =>
  Promise.all([import('@aws-sdk/client-sts'), import('./assumed-role.js')])
)
const loadCloudWatch = once(() =>
  Promise.all([import('@aws-sdk/client-cloudwatch'), import('./cloudwatch.js')])
)

export function createAwsServices(env: ProcessEnvironment = process.env): AwsServices {
  const registries = new Map<string, ContainerRegistry>()
  const ecrClients = new Map<string, Promise<ECRClient>>()
  const lambdaClients = new Map<string, LambdaClient>()
  const cloudWatchClients = new Map<string, Promise<CloudWatchClient>>()
  const functions = new Map<string, FunctionService>()
  const releases = new Map<string, ReleaseService>()
  let sts: Promise<STSClient> | undefined
  const roleCredentials = new Map<string, AwsCredentialIdentityProvider>()
  let account: Promise<string> | undefined
  const clientSettings = (region: string) => sdkClientSettings(region, env)
  return {
    registry(region) {
      let registry = registries.get(region)
      if (!registry) {
        registry = loadedAtFirstCall(async () => {
          const [, { createContainerRegistry }] = await loadEcr()
          return createContainerRegistry(await ecrClient(region))
        })
        registries.set(region, registry)
      }
      return registry
    },
    functions(region, roleArn) {
      const key = `${region} ${roleArn ?? ''}`
      let service = functions.get(key)
      if (!service) {
        service = createFunctionService(lambdaClient(region, roleArn))
        functions.set(key, service)
      }
      return service
    },
    releases(region, roleArn) {
      const key = `${region} ${roleArn ?? ''}`
      let service = releases.get(key)
      if (!service) {
        service = createReleaseService(lambdaClient(region, roleArn))
        releases.set(key, service)
      }
      return service
    },
    retention(region) {
      return loadedAtFirstCall(async () => {
        const [, , { createImageRetention }] = await loadEcr()
        return createImageRetention(await ecrClient(region))
      })
    },
    versions(region, roleArn) {
      return createVersionReader(lambdaClient(region, roleArn))
    },
    invoker(region, roleArn) {
      // A client of its own: an invocation runs the function, so it is never retried (a retry
      // would run it twice), and it may take the function's whole timeout (up to 15 minutes),
      // which the shared clients' per-attempt limit would cut short. The caller bounds each call.
      return createFunctionInvoker(
        new LambdaClient({
          ...clientSettings(region),
          maxAttempts: 1,
          requestHandler: {
            connectionTimeout: CONNECTION_TIMEOUT_MS,
            requestTimeout: INVOKE_REQUEST_TIMEOUT_MS,
            throwOnRequestTimeout: true
          },
          ...(roleArn ? { credentials: credentialsFor(roleArn) } : {})
        })
      )
    },
    alarms(region, roleArn) {
      return loadedAtFirstCall(async () => {
        const [, { createAlarmReader }] = await loadCloudWatch()
        return createAlarmReader(await cloudWatchClient(region, roleArn))
      })
    },
    callerAccount() {
      account ??= loadSts().then(async ([, { callerAccount }]) => callerAccount(await stsClient()))
      return account
    }
  }

  /** One ECR client per region, shared by the registry and the retention reads. */
  function ecrClient(region: string): Promise<ECRClient> {
    let client = ecrClients.get(region)
    if (!client) {
      client = loadEcr().then(([{ ECRClient }]) =>
        withCallDeadline(new ECRClient(clientSettings(region)))
      )
      ecrClients.set(region, client)
    }
    return client
  }

  /** One CloudWatch client per region and role. */
  function cloudWatchClient(region: string, roleArn?: string): Promise<CloudWatchClient> {
    const key = `${region} ${roleArn ?? ''}`
    let client = cloudWatchClients.get(key)
    if (!client) {
      client = loadCloudWatch().then(([{ CloudWatchClient }]) =>
        withCallDeadline(
          new CloudWatchClient({
            ...clientSettings(region),
            ...(roleArn ? { credentials: credentialsFor(roleArn) } : {})
          })
        )
      )
      cloudWatchClients.set(key, client)
    }
    return client
  }

  function stsClient(): Promise<STSClient> {
    // STS is global, but a regional endpoint keeps the call in the workflow's region.
    sts ??= loadSts().then(([{ STSClient }]) =>
      withCallDeadline(new STSClient(clientSettings(env.AWS_REGION || 'us-east-1')))
    )
    return sts
  }

  /** One AssumeRole per role, shared by every region's client; STS is loaded at its first use. */
  function credentialsFor(roleArn: string): AwsCredentialIdentityProvider {
    let provider = roleCredentials.get(roleArn)
    if (!provider) {
      let assumed: Promise<AwsCredentialIdentityProvider> | undefined
      provider = async identityProperties => {
        assumed ??= loadSts().then(async ([, { assumedRoleCredentials }]) =>
          assumedRoleCredentials(await stsClient(), roleArn, 'lambda-image-deploy')
        )
        return (await assumed)(identityProperties)
      }
      roleCredentials.set(roleArn, provider)
    }
    return provider
  }

  /** One client per region and role, shared by the code and the release services. */
  function lambdaClient(region: string, roleArn?: string): LambdaClient {
    const key = `${region} ${roleArn ?? ''}`
    let client = lambdaClients.get(key)
    if (!client) {
      client = withCallDeadline(
        new LambdaClient({
          ...clientSettings(region),
          ...(roleArn ? { credentials: credentialsFor(roleArn) } : {})
        })
      )
      lambdaClients.set(key, client)
    }
    return client
  }
}

/** Services whose every method answers with a promise: a call can wait for the service's load. */
type AsyncService<Service> = {
  [Method in keyof Service]: (...args: never[]) => Promise<unknown>
}

/**
 * A service that is made (its modules loaded) at its first call. Until then it is a stand-in
 * whose methods wait for the load and then call the real one.
 */
function loadedAtFirstCall<Service extends AsyncService<Service>>(
  load: () => Promise<Service>
): Service {
  let loaded: Promise<Service> | undefined
  return new Proxy({} as Service, {
    get(_target, method) {
      // Not a thenable: `await service` must give the service back, not call a method "then".
      if (typeof method !== 'string' || method === 'then') return undefined
      return async (...args: unknown[]) => {
        loaded ??= load()
        const service = await loaded
        const methods = service as unknown as Record<
          string,
          (...args: unknown[]) => Promise<unknown>
        >
        const call = methods[method]!
        return await call.apply(service, args)
      }
    }
  })
}

/** The first call's promise, shared by every later call. */
function once<Value>(make: () => Promise<Value>): () => Promise<Value> {
  let made: Promise<Value> | undefined
  return () => (made ??= make())
}

/**
 * Gives every send() without its own abort signal one that fires after CALL_DEADLINE_MS. The SDK
 * has no setting for the total time of a call: per-attempt time-outs times attempts plus back-off
 * is only a bound on paper.
 */
function withCallDeadline<Client extends ECRClient | LambdaClient | STSClient | CloudWatchClient>(
  client: Client
): Client {
  const send = client.send.bind(client) as (command: unknown, options?: object) => Promise<unknown>
  const bounded = (command: unknown, options?: object) =>
    send(command, { abortSignal: AbortSignal.timeout(CALL_DEADLINE_MS), ...options })
  client.send = bounded as Client['send']
  return client
}
