import { createHash } from 'node:crypto'
import {
  DEFAULT_FAILED_UPDATE_REASON_CODE,
  FUNCTION_STATE_REASONS,
  LAMBDA_MESSAGES,
  UNSUPPORTED_LAYER_FAILURE
} from './aws-wording.js'
import type { FaultPlan } from './faults.js'
import { createImageFunction } from './lambda-create.js'
import { resolveFunctionImage } from './lambda-image.js'
import {
  aliasShape,
  arnOf,
  codeLocationShape,
  configurationShape,
  FUNCTION_NAME_PATTERN,
  functionArn,
  lastModifiedNow,
  newRevisionId,
  parseFunctionName
} from './lambda-model.js'
import {
  optionalArchitectures,
  optionalString,
  requiredString,
  updatedSettings
} from './lambda-input.js'
import type { FunctionInvoke, InvokeAnswer } from './lambda-invoke.js'
import type { LambdaRoute } from './lambda-routes.js'
import {
  invokeTarget,
  isManagedInstances,
  LATEST_PUBLISHED,
  provisioningState,
  PUBLISH_TO_LATEST_PUBLISHED,
  publishLatestPublished
} from './lambda-kinds.js'
import { publish, requireAlias, requireVersion, routingWeights } from './lambda-versions.js'
import type { ImageRegistry } from './registry-client.js'
import { callerArn, type Caller } from './sigv4.js'
import {
  recordKey,
  type AliasRecord,
  type FunctionCode,
  type FunctionRecord,
  type FunctionVersionRecord,
  type StandInState,
  type UpdateOutcome
} from './state.js'
import { lambdaError } from './wire.js'

/**
 * AWS Lambda's control plane for image functions (REST-JSON). Updates are asynchronous as in
 * AWS: UpdateFunctionCode/UpdateFunctionConfiguration answer with LastUpdateStatus InProgress,
 * which becomes Successful (or Failed, when a fault says so) after `updateDelayMs`; another
 * update meanwhile is a ResourceConflictException.
 */

export interface LambdaDependencies {
  readonly state: StandInState
  readonly registry: ImageRegistry
  readonly faults: FaultPlan
  /** Runs a function for Invoke (lambda-invoke.ts). */
  readonly invoke: FunctionInvoke
}

export interface LambdaCall {
  readonly route: LambdaRoute
  readonly query: Record<string, string | string[]>
  readonly body: Record<string, unknown>
  /** Invoke only: the event as sent, and the request headers it reads. */
  readonly raw?: {
    readonly body: Buffer
    readonly headers: Record<string, string | string[] | undefined>
  }
}

export interface LambdaAnswer {
  readonly status: number
  readonly body: unknown
  /** Invoke's answer is the function's response, not JSON of the stand-in's making. */
  readonly raw?: InvokeAnswer
}

export interface Lambda {
  call(request: LambdaCall, caller: Caller): Promise<LambdaAnswer>
}

/** A function found by FunctionName, with the version a qualifier selects (none: $LATEST). */
interface Located {
  readonly fn: FunctionRecord
  readonly version?: FunctionVersionRecord
  /** The qualifier as given (name or query), if any. */
  readonly qualifier?: string
}

export function createLambda({ state, registry, faults, invoke }: LambdaDependencies): Lambda {
  type Operation = (request: LambdaCall, caller: Caller) => LambdaAnswer | Promise<LambdaAnswer>

  /** Finds the function; `qualified` says whether the operation accepts a version or alias. */
  function locate(request: LambdaCall, caller: Caller, qualified: boolean): Located {
    const raw = request.route.functionName
    const parsed = parseFunctionName(raw)
    if (!parsed) {
      throw lambdaError(
        'ValidationException',
        LAMBDA_MESSAGES.validation(
          raw,
          'functionName',
          `Member must satisfy regular expression pattern: ${FUNCTION_NAME_PATTERN}`
        )
      )
    }
    const queryQualifier = single(request.query.Qualifier)
    if (parsed.qualifier && queryQualifier && parsed.qualifier !== queryQualifier) {
      throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.derivedQualifierMismatch)
    }
    const qualifier = parsed.qualifier ?? queryQualifier
    if (qualifier && !qualified) {
      throw lambdaError(
        'ValidationException',
        LAMBDA_MESSAGES.validation(raw, 'functionName', 'Member must not include a qualifier')
      )
    }
    const account = parsed.account ?? caller.account
    const region = parsed.region ?? caller.region
    const arn = functionArn(account, region, parsed.name, qualifier)
    // Another account's function needs a resource-based policy, which the stand-in never has.
    if (account !== caller.account) {
      throw lambdaError(
        'AccessDeniedException',
        LAMBDA_MESSAGES.accessDenied(callerArn(caller), `lambda:${request.route.operation}`, arn)
      )
    }
    const fn =
      region === caller.region
        ? state.functions.get(recordKey(account, region, parsed.name))
        : undefined
    if (!fn) throw lambdaError('ResourceNotFoundException', LAMBDA_MESSAGES.functionNotFound(arn))
    if (!qualifier || qualifier === '$LATEST') return { fn, qualifier }
    const versionName = fn.aliases[qualifier]?.functionVersion ?? qualifier
    if (versionName === '$LATEST') return { fn, qualifier }
    const version =
      versionName === LATEST_PUBLISHED
        ? fn.latestPublished
        : fn.versions.find(candidate => candidate.version === versionName)
    if (!version)
      throw lambdaError('ResourceNotFoundException', LAMBDA_MESSAGES.functionNotFound(arn))
    return { fn, version, qualifier }
  }

  function refuseWhileUpdating(fn: FunctionRecord): void {
    // "Lambda function states": while Pending, updates and PublishVersion fail with this 409.
    if (fn.state.name === 'Pending') {
      throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.functionInState('Pending'))
    }
    if (fn.lastUpdate.status === 'InProgress') {
      throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.updateInProgress(arnOf(fn)))
    }
  }

  /**
   * An update of an Inactive or Failed function is how it comes back: Lambda re-optimizes the
   * image ("Lambda function states"; "Working with Lambda container images": an idle image
   * function is re-optimized on its next invocation or update), so the function is Pending
   * until the update ends, then Active (or back where it was, when the update fails).
   */
  function restoreWithUpdate(fn: FunctionRecord): void {
    if (fn.state.name !== 'Inactive' && fn.state.name !== 'Failed') return
    fn.state = { name: 'Pending', ...FUNCTION_STATE_REASONS.restoring, next: fn.state }
  }

  /** Publishing needs an Active function. Lambda's answer for an Inactive or Failed one is not
   * recorded anywhere we found; the stand-in takes the stricter candidate and refuses. */
  function refuseUnlessActive(fn: FunctionRecord): void {
    // $LATEST of a function on a capacity provider is ActiveNonInvocable (lambda-kinds.ts).
    if (fn.state.name === 'ActiveNonInvocable' && isManagedInstances(fn)) return
    if (fn.state.name !== 'Active') {
      throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.functionInState(fn.state.name))
    }
  }

  /** Lambda Managed Instances provision each version they publish (lambda-kinds.ts). */
  function provisioning(fn: FunctionRecord) {
    return isManagedInstances(fn) ? () => provisioningState(state, fn) : undefined
  }

  function checkRevision(expected: unknown, actual: string): void {
    if (expected !== undefined && expected !== actual) {
      throw lambdaError('PreconditionFailedException', LAMBDA_MESSAGES.revisionMismatch)
    }
  }

  /** Marks an accepted update InProgress; it ends after the configured delay. */
  function startUpdate(fn: FunctionRecord, operation: string, imageFailure?: UpdateOutcome): void {
    const failure = faults.take('lambda', operation, ['update-failed'])
    fn.lastModified = lastModifiedNow()
    fn.revisionId = newRevisionId()
    restoreWithUpdate(fn)
    fn.lastUpdate = {
      status: 'InProgress',
      // An update in progress says why, as a new function's State does (same recorded answers).
      ...FUNCTION_STATE_REASONS.creating,
      completesAt: Date.now() + state.settings.updateDelayMs,
      outcome: failure
        ? {
            status: 'Failed',
            reason: failure.reason ?? 'The stand-in was told to fail this update.',
            reasonCode: failure.reasonCode ?? DEFAULT_FAILED_UPDATE_REASON_CODE
          }
        : (imageFailure ?? { status: 'Successful' })
    }
  }

  /** Lambda accepts an image with an uncompressed Docker-typed layer and fails the update
   * afterwards, naming the first such layer (aws-wording.ts UNSUPPORTED_LAYER_FAILURE). */
  function layerFailure(code: FunctionCode): UpdateOutcome | undefined {
    if (!code.unsupportedLayer) return undefined
    return {
      status: 'Failed',
      reason: UNSUPPORTED_LAYER_FAILURE.reason(code.unsupportedLayer),
      reasonCode: UNSUPPORTED_LAYER_FAILURE.reasonCode
    }
  }

  async function imageCode(fn: FunctionRecord, imageUri: string): Promise<FunctionCode> {
    const image = await resolveFunctionImage(state, registry, fn, imageUri)
    return {
      imageUri,
      resolvedImageUri: image.resolvedImageUri,
      // For image functions CodeSha256 is the manifest digest's hex (Lambda FunctionConfiguration).
      codeSha256: image.digest.replace(/^sha256:/, ''),
      codeSize: 0,
      // Recorded, not refused: Lambda accepts an image of the wrong architecture and the
      // function fails when it runs, so the stand-in keeps the fact for tests to look at.
      imageArchitecture: image.imageArchitecture,
      unsupportedLayer: image.unsupportedLayer
    }
  }

  const operations: Record<string, Operation> = {
    // lambda-create.ts: validation, the image check and the Pending → Active transition.
    async CreateFunction(request, caller) {
      const fn = await createImageFunction(state, registry, request.body, caller)
      return { status: 201, body: configurationShape(fn) }
    },

    async Invoke(request, caller) {
      const located = locate(request, caller, true)
      const { fn } = located
      // Managed Instances and durable functions: where an (un)qualified invoke goes, or why it
      // is refused (lambda-kinds.ts).
      const version = invokeTarget(fn, located.qualifier, located.version)
      const raw = await invoke({
        fn,
        version,
        headers: request.raw?.headers ?? {},
        body: request.raw?.body ?? Buffer.alloc(0)
      })
      return { status: raw.status, body: undefined, raw }
    },

    GetFunction(request, caller) {
      const { fn, version } = locate(request, caller, true)
      return ok({
        Configuration: configurationShape(fn, version),
        Code: codeLocationShape(fn, version)
      })
    },

    GetFunctionConfiguration(request, caller) {
      const { fn, version } = locate(request, caller, true)
      return ok(configurationShape(fn, version))
    },

    ListVersionsByFunction(request, caller) {
      const { fn } = locate(request, caller, false)
      return ok({
        Versions: [
          configurationShape(fn),
          ...fn.versions.map(version => configurationShape(fn, version))
        ]
      })
    },

    async UpdateFunctionCode(request, caller) {
      const { fn } = locate(request, caller, false)
      const body = request.body
      refuseWhileUpdating(fn)
      checkRevision(body.RevisionId, fn.revisionId)
      const imageUri = optionalString(body, 'ImageUri')
      if (fn.packageType === 'Zip' && imageUri !== undefined) {
        throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.imageUriForZip)
      }
      if (fn.packageType === 'Image' && imageUri === undefined) {
        throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.imageUriMissing)
      }
      const architectures = optionalArchitectures(body.Architectures)
      const code = imageUri === undefined ? zipCode(body) : await imageCode(fn, imageUri)
      // The registry was read meanwhile; another update may have been accepted since.
      refuseWhileUpdating(fn)
      if (body.DryRun === true) return ok(configurationShape(fn))

      // Even an update that will fail reports the new CodeSha256: whether AWS reports the old
      // or the new one after a failure is not recorded, and the new one is the stricter choice
      // (a caller that compares digests alone would wrongly skip a redeploy).
      fn.code = code
      if (architectures) fn.settings = { ...fn.settings, architectures }
      startUpdate(fn, 'UpdateFunctionCode', layerFailure(code))
      // PublishTo LATEST_PUBLISHED (API reference, UpdateFunctionCode): the new code goes to
      // $LATEST.PUBLISHED too (lambda-kinds.ts).
      const version =
        body.PublishTo === PUBLISH_TO_LATEST_PUBLISHED
          ? publishLatestPublished(state, fn, undefined)
          : body.Publish === true
            ? publish(fn, undefined, provisioning(fn))
            : undefined
      return ok(configurationShape(fn, version))
    },

    UpdateFunctionConfiguration(request, caller) {
      const { fn } = locate(request, caller, false)
      const body = request.body
      refuseWhileUpdating(fn)
      checkRevision(body.RevisionId, fn.revisionId)
      fn.settings = updatedSettings(fn.settings, body)
      startUpdate(fn, 'UpdateFunctionConfiguration')
      return ok(configurationShape(fn))
    },

    PublishVersion(request, caller) {
      const { fn } = locate(request, caller, false)
      const body = request.body
      refuseWhileUpdating(fn)
      refuseUnlessActive(fn)
      checkRevision(body.RevisionId, fn.revisionId)
      const codeSha256 = optionalString(body, 'CodeSha256')
      if (codeSha256 !== undefined && codeSha256 !== fn.code.codeSha256) {
        throw lambdaError(
          'InvalidParameterValueException',
          LAMBDA_MESSAGES.codeShaMismatch(codeSha256, fn.code.codeSha256)
        )
      }
      const description = optionalString(body, 'Description')
      const publishTo = optionalString(body, 'PublishTo')
      if (publishTo !== undefined && publishTo !== PUBLISH_TO_LATEST_PUBLISHED) {
        throw lambdaError(
          'ValidationException',
          LAMBDA_MESSAGES.validation(
            publishTo,
            'publishTo',
            `Member must satisfy enum value set: [${PUBLISH_TO_LATEST_PUBLISHED}]`
          )
        )
      }
      const version =
        publishTo === PUBLISH_TO_LATEST_PUBLISHED
          ? publishLatestPublished(state, fn, description)
          : publish(fn, description, provisioning(fn))
      return { status: 201, body: configurationShape(fn, version) }
    },

    CreateAlias(request, caller) {
      const { fn } = locate(request, caller, false)
      const body = request.body
      const name = requiredString(body, 'Name')
      if (fn.aliases[name]) {
        throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.aliasExists(arnOf(fn, name)))
      }
      const functionVersion = requiredString(body, 'FunctionVersion')
      requireVersion(fn, functionVersion)
      const alias: AliasRecord = {
        name,
        functionVersion,
        description: optionalString(body, 'Description') ?? '',
        additionalVersionWeights: routingWeights(fn, functionVersion, body.RoutingConfig),
        revisionId: newRevisionId()
      }
      fn.aliases[name] = alias
      return { status: 201, body: aliasShape(fn, alias) }
    },

    // https://docs.aws.amazon.com/lambda/latest/api/API_ListAliases.html (one page: the stand-in
    // holds few aliases; NextMarker is left out).
    ListAliases(request, caller) {
      const { fn } = locate(request, caller, false)
      const aliases = Object.values(fn.aliases).sort((a, b) => a.name.localeCompare(b.name))
      return ok({ Aliases: aliases.map(alias => aliasShape(fn, alias)) })
    },

    GetAlias(request, caller) {
      const { fn } = locate(request, caller, false)
      return ok(aliasShape(fn, requireAlias(fn, request.route.aliasName ?? '')))
    },

    UpdateAlias(request, caller) {
      const { fn } = locate(request, caller, false)
      const body = request.body
      const current = requireAlias(fn, request.route.aliasName ?? '')
      if (body.RevisionId !== undefined && body.RevisionId !== current.revisionId) {
        throw lambdaError('PreconditionFailedException', LAMBDA_MESSAGES.revisionMismatch)
      }
      const functionVersion = optionalString(body, 'FunctionVersion') ?? current.functionVersion
      requireVersion(fn, functionVersion)
      const alias: AliasRecord = {
        ...current,
        functionVersion,
        description: optionalString(body, 'Description') ?? current.description,
        additionalVersionWeights:
          body.RoutingConfig === undefined
            ? current.additionalVersionWeights
            : routingWeights(fn, functionVersion, body.RoutingConfig),
        revisionId: newRevisionId()
      }
      fn.aliases[alias.name] = alias
      return ok(aliasShape(fn, alias))
    }
  }

  return {
    async call(request, caller) {
      const operation = operations[request.route.operation]
      if (!operation)
        throw lambdaError(
          'UnknownOperationException',
          `Unknown operation ${request.route.operation}`
        )
      return await operation(request, caller)
    }
  }
}

/** A Zip update: CodeSha256 is the base64 SHA-256 of the package (Lambda FunctionConfiguration). */
function zipCode(body: Record<string, unknown>): FunctionCode {
  const zip =
    typeof body.ZipFile === 'string'
      ? Buffer.from(body.ZipFile, 'base64')
      : Buffer.from(JSON.stringify(body))
  return { codeSha256: createHash('sha256').update(zip).digest('base64'), codeSize: zip.length }
}

function ok(body: unknown): LambdaAnswer {
  return { status: 200, body }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
