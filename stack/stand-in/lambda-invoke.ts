import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createDockerEngine, type DockerEngine } from '../../src/adapters/docker.js'
import { startRuntimeApi, type InvocationResult } from '../../src/adapters/runtime-api-server.js'
import { launchLambdaContainer } from '../../src/adapters/lambda-container-launch.js'
import type { SmokeTestFunction } from '../../src/domain/lambda-container.js'
import { INIT_TIMEOUT_SECONDS, MAX_SYNC_PAYLOAD_BYTES } from '../../src/domain/lambda-runtime.js'
import { emulationSlowdown } from '../../src/steps/smoke-test.js'
import { LAMBDA_MESSAGES } from './aws-wording.js'
import { refuseUnlessVersionRunnable } from './lambda-kinds.js'
import { arnOf } from './lambda-model.js'
import { REGISTRY_PASSWORD_FILE, REGISTRY_USER } from './registry-client.js'
import type { FunctionRecord, FunctionVersionRecord } from './state.js'
import { AwsError, lambdaError } from './wire.js'

/**
 * Lambda's Invoke (POST /2015-03-31/functions/{name}/invocations), synchronous only: the stand-in
 * RUNS the function's image, the digest $LATEST or the version points to, pulled from the local
 * registry by the real Docker engine, the way the action's smoke test runs an image (read-only
 * root, non-root user, the function's memory as a hard limit, its timeout, its variables and
 * ImageConfig) against the action's own Runtime API server. So an invoke of a broken image fails
 * as it would on Lambda. A fresh container per call: every invocation is a cold start.
 *
 * Wire format, from the Lambda API reference, "Invoke": the request body is the event; query
 * Qualifier; header X-Amz-Invocation-Type (RequestResponse default) and X-Amz-Log-Type (Tail
 * for the last 4 KB of the log, base64, in X-Amz-Log-Result). The answer is 200 with the
 * function's response as the body, also when the function failed: then X-Amz-Function-Error is
 * "Unhandled" and the body is the error document. X-Amz-Executed-Version names the version run.
 */

export interface InvokeRequest {
  readonly fn: FunctionRecord
  readonly version?: FunctionVersionRecord
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: Buffer
}

export interface InvokeAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: Buffer
}

export interface InvokeOptions {
  /** Where the registry password is (stack/setup.sh's stateDir). */
  readonly stateDir: string
  /** The Docker engine that runs the functions; default: the docker CLI's own (DOCKER_HOST). */
  readonly docker?: DockerEngine
}

export type FunctionInvoke = (request: InvokeRequest) => Promise<InvokeAnswer>

/** "Invoke", Response Syntax: the log tail is the last 4 KB of the log. */
const LOG_TAIL_BYTES = 4096

export function createInvoke(options: InvokeOptions): FunctionInvoke {
  const docker = options.docker ?? createDockerEngine()
  return async ({ fn, version, headers, body }) => {
    refuseUnlessRunnable(fn, version)
    const invocationType = header(headers, 'x-amz-invocation-type') ?? 'RequestResponse'
    if (invocationType !== 'RequestResponse') {
      // Event and DryRun exist on Lambda; the stand-in models only what the action calls, and
      // refuses the rest rather than pretending.
      throw lambdaError(
        'InvalidParameterValueException',
        `The stand-in serves InvocationType RequestResponse only, not ${invocationType}.`
      )
    }
    if (body.length > MAX_SYNC_PAYLOAD_BYTES) {
      throw lambdaError(
        'InvalidRequestContentException',
        `Request must be smaller than ${MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`
      )
    }
    const payload = body.length === 0 ? '{}' : body.toString('utf8')
    try {
      JSON.parse(payload)
    } catch (error) {
      throw lambdaError(
        'InvalidRequestContentException',
        `${LAMBDA_MESSAGES.invalidJson}: ${(error as Error).message}`
      )
    }
    const code = version?.code ?? fn.code
    const settings = version?.settings ?? fn.settings
    if (fn.packageType !== 'Image' || !code.resolvedImageUri) {
      throw new AwsError('ServiceException', 'The stand-in runs image functions only.', 500)
    }
    const executedVersion = version?.version ?? '$LATEST'
    const run = await runImage(
      docker,
      options.stateDir,
      code.resolvedImageUri,
      {
        name: fn.name,
        arn: arnOf(fn, version?.version),
        region: fn.region,
        memoryMb: settings.memorySize,
        timeoutSeconds: settings.timeout,
        version: executedVersion,
        overrides: {
          entryPoint: settings.imageConfig?.EntryPoint,
          command: settings.imageConfig?.Command,
          workingDirectory: settings.imageConfig?.WorkingDirectory,
          environment: settings.environment
        }
      },
      payload,
      executedVersion
    )
    const answerHeaders: Record<string, string> = {
      'content-type': 'application/json',
      'x-amz-executed-version': executedVersion
    }
    if (run.functionError) answerHeaders['x-amz-function-error'] = 'Unhandled'
    if (header(headers, 'x-amz-log-type') === 'Tail') {
      answerHeaders['x-amz-log-result'] = logTail(run.log)
    }
    return { status: 200, headers: answerHeaders, body: Buffer.from(run.body, 'utf8') }
  }
}

/**
 * Invoke's "Errors" (API reference) lists ResourceConflictException and ResourceNotReadyException;
 * "Lambda function states" says invoking a Pending function fails, and an Inactive one fails and
 * goes Pending while Lambda restores it. Lambda runs the previous code while an update is
 * InProgress; the stand-in is stricter and refuses then too, so a caller that invokes before the
 * update has finished is caught.
 */
function refuseUnlessRunnable(fn: FunctionRecord, version?: FunctionVersionRecord): void {
  // A version with a State of its own (Lambda Managed Instances) runs when it is Active,
  // whatever $LATEST is doing (lambda-kinds.ts).
  if (refuseUnlessVersionRunnable(version)) return
  if (fn.state.name !== 'Active') {
    throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.functionInState(fn.state.name))
  }
  if (fn.lastUpdate.status === 'InProgress') {
    throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.updateInProgress(arnOf(fn)))
  }
}

interface ImageRun {
  readonly functionError: boolean
  /** The response, or the error document. */
  readonly body: string
  /** START, the container's output, END and REPORT lines, as CloudWatch Logs would hold them. */
  readonly log: string[]
}

async function runImage(
  docker: DockerEngine,
  stateDir: string,
  imageUri: string,
  fn: SmokeTestFunction,
  payload: string,
  executedVersion: string
): Promise<ImageRun> {
  // The Runtime API server gives the invocation its request id; this one is for runs that end
  // before an event is handed over.
  let requestId: string = randomUUID()
  const name = `stand-in-invoke-${process.pid}-${randomBytes(4).toString('hex')}`
  const work = mkdtempSync(path.join(os.tmpdir(), 'stand-in-invoke-'))
  const started = performance.now()
  const log: string[] = []
  let network: Awaited<ReturnType<DockerEngine['createNetwork']>> | undefined
  let api: Awaited<ReturnType<typeof startRuntimeApi>> | undefined
  let container: ReturnType<DockerEngine['startContainer']> | undefined
  try {
    await pull(docker, stateDir, imageUri, work)
    const image = await docker.inspectImage(imageUri)
    network = await docker.createNetwork(name)
    api = await startRuntimeApi(network.gateway)
    container = launchLambdaContainer(docker, {
      name,
      image,
      function: fn,
      runtimeApi: api.address,
      network: network.name,
      secretDir: work
    })
    const exited = container.exited.then(exit => ({ kind: 'exited' as const, ...exit }))
    const slowdown = emulationSlowdown(image)
    const init = await Promise.race([
      api.initialized.then(() => ({ kind: 'ready' as const })),
      api.initError.then(error => ({ kind: 'init-error' as const, ...error })),
      exited,
      delay(INIT_TIMEOUT_SECONDS * slowdown * 1000).then(() => ({ kind: 'init-timeout' as const }))
    ])
    let outcome: InvocationResult | { kind: 'exited'; exitCode: number; oomKilled: boolean }
    if (init.kind === 'ready') {
      outcome = await Promise.race([
        api.invoke({
          payload,
          timeoutMs: fn.timeoutSeconds * slowdown * 1000,
          invokedFunctionArn: fn.arn
        }),
        exited
      ])
    } else if (init.kind === 'init-error') {
      // Lambda answers an init failure as a function error with the runtime's error document.
      outcome = { ...init, kind: 'error', requestId }
    } else if (init.kind === 'exited') {
      outcome = init
    } else {
      outcome = { kind: 'timeout', requestId, delivered: false }
    }
    if ('requestId' in outcome) requestId = outcome.requestId
    // Removing the container first lets its last lines of output arrive.
    await container.remove()
    log.push(`START RequestId: ${requestId} Version: ${executedVersion}`, ...container.output())
    const ms = performance.now() - started
    log.push(
      `END RequestId: ${requestId}`,
      `REPORT RequestId: ${requestId}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.ceil(ms)} ms\tMemory Size: ${fn.memoryMb} MB`
    )
    return { ...answerOf(outcome, requestId, fn.timeoutSeconds), log }
  } finally {
    await container?.remove()
    await api?.close()
    await network?.remove()
    rmSync(work, { recursive: true, force: true })
  }
}

/**
 * The answer for each way a run ends. Error documents as Lambda writes them: the runtime's own
 * posted error; for a time-out "Task timed out after N.00 seconds" and for a runtime that exits
 * "Runtime exited with error: ..." (Runtime.ExitError), both from the Lambda developer guide,
 * "Troubleshoot invocation issues".
 */
function answerOf(
  outcome: InvocationResult | { kind: 'exited'; exitCode: number; oomKilled: boolean },
  requestId: string,
  timeoutSeconds: number
): { functionError: boolean; body: string } {
  switch (outcome.kind) {
    case 'response':
      return { functionError: false, body: outcome.body }
    case 'error':
      return {
        functionError: true,
        body:
          outcome.body ||
          JSON.stringify({ errorType: outcome.errorType, errorMessage: outcome.errorMessage })
      }
    case 'timeout':
      return {
        functionError: true,
        body: JSON.stringify({
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`
        })
      }
    case 'exited':
      return {
        functionError: true,
        body: JSON.stringify({
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${outcome.oomKilled ? 'signal: killed' : `exit status ${outcome.exitCode}`}`
        })
      }
  }
}

/** Pulls the digest with the registry's credential in a config of its own, never in argv. */
async function pull(
  docker: DockerEngine,
  stateDir: string,
  imageUri: string,
  work: string
): Promise<void> {
  const host = imageUri.slice(0, imageUri.indexOf('/'))
  const password = readFileSync(path.join(stateDir, REGISTRY_PASSWORD_FILE), 'utf8').trim()
  const config = path.join(work, 'docker')
  mkdirSync(config)
  writeFileSync(
    path.join(config, 'config.json'),
    JSON.stringify({
      auths: { [host]: { auth: Buffer.from(`${REGISTRY_USER}:${password}`).toString('base64') } }
    }),
    { mode: 0o600 }
  )
  await docker.run(['--config', config, 'pull', '--quiet', imageUri])
}

/** Base64 of the log's last 4 KB. */
export function logTail(lines: readonly string[]): string {
  const text = Buffer.from(`${lines.join('\n')}\n`, 'utf8')
  const tail = text.subarray(Math.max(0, text.length - LOG_TAIL_BYTES))
  return tail.toString('base64')
}

function header(
  headers: Record<string, string | string[] | undefined>,
  name: string
): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref())
}
