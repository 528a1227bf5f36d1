import {
  CreateFunctionCommand,
  GetFunctionCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration
} from '@aws-sdk/client-lambda'
import { ActionError } from '../domain/errors.js'
import type { LambdaArchitecture } from '../domain/lambda-limits.js'
import { errorName, explainAwsError } from './aws-errors.js'

/** What the action knows about a function; no SDK types beyond this adapter. */
export interface FunctionFacts {
  readonly arn: string
  readonly name: string
  readonly packageType: string
  readonly architectures: readonly string[]
  /** For image functions: the manifest digest, hex without "sha256:". */
  readonly codeSha256: string
  readonly imageUri: string
  /** GetFunction's Code.ResolvedImageUri (`REPOSITORY@sha256:...`); absent in update answers. */
  readonly resolvedImageUri?: string
  readonly lastUpdateStatus: string
  readonly lastUpdateStatusReason: string
  /** E.g. ImageAccessDenied, InvalidImage; empty when Lambda gave none. */
  readonly lastUpdateStatusReasonCode?: string
  /** Pending, Active, Inactive or Failed ("Lambda function states"); empty when not given. */
  readonly state: string
  /** Why the function is in that state, e.g. "The function is being created." (Creating). */
  readonly stateReason: string
  readonly stateReasonCode: string
  /** Lambda's defaults when the API leaves them out: 128 MB, 3 s, 512 MB of /tmp. */
  readonly memorySize: number
  readonly timeout: number
  readonly ephemeralStorageMb: number
  /** The function's variables: given to the smoke test, never printed. */
  readonly environment: Readonly<Record<string, string>>
  /** Lambda Managed Instances: the capacity provider the function runs on (domain/function-kinds.ts). */
  readonly capacityProviderArn?: string
  /** A durable function: DurableConfig is set (domain/function-kinds.ts). */
  readonly durable?: boolean
}

export interface CodeUpdate {
  readonly functionName: string
  readonly imageUri: string
  readonly architectures?: readonly LambdaArchitecture[]
}

/** CreateFunction for an image function (Lambda API reference, CreateFunction). */
export interface FunctionSpec {
  readonly functionName: string
  readonly imageUri: string
  readonly architecture: LambdaArchitecture
  readonly roleArn: string
  readonly memoryMb: number
  readonly timeoutSeconds: number
}

/** The id of the error describe throws when the function does not exist. */
export const FUNCTION_NOT_FOUND = 'function-not-found'

/** The id of the error updateCode throws when another update of the function is in progress. */
export const UPDATE_CONFLICT = 'function-update-conflict'

/** AWS Lambda, as the steps need it. One instance per region. */
export interface FunctionService {
  describe(functionName: string): Promise<FunctionFacts>
  /** Throws an ActionError with id UPDATE_CONFLICT while another update is in progress. */
  updateCode(update: CodeUpdate): Promise<FunctionFacts>
  /**
   * Waits until the function can take a change: LastUpdateStatus has left InProgress, and a
   * Pending function (new, or being restored) has left Pending. Returns the final facts either
   * way, also when the time ran out.
   */
  waitForUpdate(functionName: string, timeoutSeconds: number): Promise<FunctionFacts>
  /** CreateFunction; the new function is Pending until Lambda has prepared the image. */
  create(spec: FunctionSpec): Promise<FunctionFacts>
  /** Waits while the function is Pending (waitUntilFunctionActiveV2); the final facts either way. */
  waitUntilActive(functionName: string, timeoutSeconds: number): Promise<FunctionFacts>
}

// The waiter polls GetFunction every second, as the AWS CLI does, so success is noticed within
// a second (the SDK's growing back-off noticed it up to seconds late). Lambda allows far more
// GetFunction calls per second than a deploy makes.
const WAITER_MIN_DELAY = 1
const WAITER_MAX_DELAY = 1

export function createFunctionService(client: LambdaClient): FunctionService {
  const describe = async (functionName: string): Promise<FunctionFacts> => {
    try {
      const answer = await client.send(new GetFunctionCommand({ FunctionName: functionName }))
      return factsOf(
        answer.Configuration ?? {},
        answer.Code?.ImageUri ?? '',
        answer.Code?.ResolvedImageUri
      )
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') {
        const region = await client.config.region()
        throw new ActionError(
          FUNCTION_NOT_FOUND,
          `There is no Lambda function "${functionName}" in ${region} for these credentials.`,
          'Check function-name and aws-region; to have the action create a missing function, set create-function-role to its execution role (opt-in), or create it first with PackageType Image.'
        )
      }
      throw explainAwsError(error, 'lambda:GetFunction', `function ${functionName}`)
    }
  }

  const waiter = (seconds: number) => ({
    client,
    maxWaitTime: Math.max(1, Math.ceil(seconds)),
    minDelay: WAITER_MIN_DELAY,
    maxDelay: WAITER_MAX_DELAY
  })

  return {
    describe,

    async create(spec) {
      try {
        const answer = await client.send(
          new CreateFunctionCommand({
            FunctionName: spec.functionName,
            PackageType: 'Image',
            Code: { ImageUri: spec.imageUri },
            Architectures: [spec.architecture],
            Role: spec.roleArn,
            MemorySize: spec.memoryMb,
            Timeout: spec.timeoutSeconds
          })
        )
        return factsOf(answer, spec.imageUri)
      } catch (error) {
        // Another run created it meanwhile: say so rather than a bare conflict.
        if (errorName(error) === 'ResourceConflictException') {
          throw new ActionError(
            'function-exists',
            `Lambda refused to create ${spec.functionName}: ${(error as Error).message}`,
            'Another run created the function meanwhile; run again to update it.'
          )
        }
        // A role Lambda cannot assume is an InvalidParameterValueException naming the role.
        throw explainAwsError(
          error,
          /PassRole/.test(String((error as Error).message))
            ? 'iam:PassRole'
            : 'lambda:CreateFunction',
          `function ${spec.functionName}`
        )
      }
    },

    async waitUntilActive(functionName, timeoutSeconds) {
      // Throws on Failed and on time-out alike; describe() tells which.
      await waitUntilFunctionActiveV2(waiter(timeoutSeconds), {
        FunctionName: functionName
      }).catch(() => undefined)
      return describe(functionName)
    },

    async updateCode(update) {
      try {
        const answer = await client.send(
          new UpdateFunctionCodeCommand({
            FunctionName: update.functionName,
            ImageUri: update.imageUri,
            Architectures: update.architectures ? [...update.architectures] : undefined
          })
        )
        return factsOf(answer, update.imageUri)
      } catch (error) {
        // Lambda refuses a code update while another update (code or configuration) of the same
        // function is in progress, or while the function is Pending; the SDK does not retry it,
        // since only waiting helps.
        if (errorName(error) === 'ResourceConflictException') {
          throw new ActionError(
            UPDATE_CONFLICT,
            `Lambda refused to update ${update.functionName} for now: ${(error as Error).message}`,
            'Another deployment or configuration change is running on this function; serialize deployments (e.g. a concurrency group in the workflow) and run again.'
          )
        }
        throw explainAwsError(error, 'lambda:UpdateFunctionCode', `function ${update.functionName}`)
      }
    },

    async waitForUpdate(functionName, timeoutSeconds) {
      const started = Date.now()
      // The waiters throw on Failed, on time-out and on errors alike; describe() below tells
      // which (and raises a real error, such as missing permission, itself).
      await waitUntilFunctionUpdatedV2(waiter(timeoutSeconds), {
        FunctionName: functionName
      }).catch(() => undefined)
      const facts = await describe(functionName)
      if (facts.state !== 'Pending') return facts
      // Pending: just created, or being restored from Inactive/Failed. Updates and PublishVersion
      // are refused until it is Active ("Lambda function states"). The Active waiter only
      // retries on Pending, so an Inactive function is never waited for here.
      const left = timeoutSeconds - (Date.now() - started) / 1000
      await waitUntilFunctionActiveV2(waiter(left), { FunctionName: functionName }).catch(
        () => undefined
      )
      return describe(functionName)
    }
  }
}

function factsOf(
  configuration: FunctionConfiguration,
  imageUri: string,
  resolvedImageUri?: string
): FunctionFacts {
  return {
    arn: configuration.FunctionArn ?? '',
    name: configuration.FunctionName ?? '',
    packageType: configuration.PackageType ?? 'Zip',
    architectures: configuration.Architectures ?? ['x86_64'],
    codeSha256: configuration.CodeSha256 ?? '',
    imageUri,
    ...(resolvedImageUri ? { resolvedImageUri } : {}),
    lastUpdateStatus: configuration.LastUpdateStatus ?? 'Successful',
    lastUpdateStatusReason: configuration.LastUpdateStatusReason ?? '',
    lastUpdateStatusReasonCode: configuration.LastUpdateStatusReasonCode ?? '',
    state: configuration.State ?? '',
    stateReason: configuration.StateReason ?? '',
    stateReasonCode: configuration.StateReasonCode ?? '',
    memorySize: configuration.MemorySize ?? 128,
    timeout: configuration.Timeout ?? 3,
    ephemeralStorageMb: configuration.EphemeralStorage?.Size ?? 512,
    environment: configuration.Environment?.Variables ?? {},
    ...kindOf(configuration)
  }
}

/** CapacityProviderConfig and DurableConfig (API reference, FunctionConfiguration). */
function kindOf(
  configuration: FunctionConfiguration
): Pick<FunctionFacts, 'capacityProviderArn' | 'durable'> {
  const capacityProviderArn =
    configuration.CapacityProviderConfig?.LambdaManagedInstancesCapacityProviderConfig
      ?.CapacityProviderArn
  return {
    ...(capacityProviderArn ? { capacityProviderArn } : {}),
    ...(configuration.DurableConfig ? { durable: true } : {})
  }
}
