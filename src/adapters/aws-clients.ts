import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { ECRClient } from '@aws-sdk/client-ecr'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { STSClient } from '@aws-sdk/client-sts'
import { MAX_FUNCTION_TIMEOUT_SECONDS } from '../domain/lambda-runtime.js'
import { assumedRoleCredentials, callerAccount } from './assumed-role.js'
import { createAlarmReader, type AlarmReader } from './cloudwatch.js'
import { createContainerRegistry, type ContainerRegistry } from './ecr.js'
import { createImageRetention, type ImageRetention } from './ecr-retention.js'
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

const USER_AGENT: [string, string][] = [['lambda-image-deploy', '0.1.0']]

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

export function createAwsServices(env: ProcessEnvironment = process.env): AwsServices {
  const registries = new Map<string, ContainerRegistry>()
  const ecrClients = new Map<string, ECRClient>()
  const lambdaClients = new Map<string, LambdaClient>()
  const cloudWatchClients = new Map<string, CloudWatchClient>()
  const functions = new Map<string, FunctionService>()
  const releases = new Map<string, ReleaseService>()
  let sts: STSClient | undefined
  const roleCredentials = new Map<string, ReturnType<typeof assumedRoleCredentials>>()
  let account: Promise<string> | undefined
  const clientSettings = (region: string) => sdkClientSettings(region, env)
  return {
    registry(region) {
      let registry = registries.get(region)
      if (!registry) {
        registry = createContainerRegistry(ecrClient(region))
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
      return createImageRetention(ecrClient(region))
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
      const key = `${region} ${roleArn ?? ''}`
      let client = cloudWatchClients.get(key)
      if (!client) {
        client = withCallDeadline(
          new CloudWatchClient({
            ...clientSettings(region),
            ...(roleArn ? { credentials: credentialsFor(roleArn) } : {})
          })
        )
        cloudWatchClients.set(key, client)
      }
      return createAlarmReader(client)
    },
    callerAccount() {
      account ??= callerAccount(stsClient())
      return account
    }
  }

  /** One ECR client per region, shared by the registry and the retention reads. */
  function ecrClient(region: string): ECRClient {
    let client = ecrClients.get(region)
    if (!client) {
      client = withCallDeadline(new ECRClient(clientSettings(region)))
      ecrClients.set(region, client)
    }
    return client
  }

  function stsClient(): STSClient {
    // STS is global, but a regional endpoint keeps the call in the workflow's region.
    sts ??= withCallDeadline(new STSClient(clientSettings(env.AWS_REGION || 'us-east-1')))
    return sts
  }

  /** One AssumeRole per role, shared by every region's client. */
  function credentialsFor(roleArn: string) {
    let provider = roleCredentials.get(roleArn)
    if (!provider) {
      provider = assumedRoleCredentials(stsClient(), roleArn, 'lambda-image-deploy')
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
