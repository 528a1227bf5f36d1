import {
  FUNCTION_DEFAULTS,
  FUNCTION_STATE_REASONS,
  LAMBDA_MESSAGES,
  UNSUPPORTED_LAYER_FAILURE
} from './aws-wording.js'
import { resolveFunctionImage } from './lambda-image.js'
import {
  FUNCTION_NAME_PATTERN,
  functionArn,
  lastModifiedNow,
  newRevisionId,
  parseFunctionName
} from './lambda-model.js'
import { optionalArchitectures, optionalNumber, optionalString } from './lambda-input.js'
import type { ImageRegistry } from './registry-client.js'
import { callerArn, type Caller } from './sigv4.js'
import { recordKey, type FunctionRecord, type FunctionState, type StandInState } from './state.js'
import { lambdaError } from './wire.js'

/**
 * CreateFunction for image functions (Lambda API reference, CreateFunction; POST
 * /2015-03-31/functions, 201 with the FunctionConfiguration). Validated as Lambda does: the name,
 * the Role ARN pattern, MemorySize 128-10240 and Timeout 1-900, PackageType Image with
 * Code.ImageUri, and the image the same way UpdateFunctionCode's is (lambda-image.ts: ECR in the
 * function's region, repository policy letting Lambda pull, the manifest one single image). A
 * new function is Pending (StateReasonCode Creating) for the stand-in's update delay, then Active
 * ("Lambda function states"); an image Lambda cannot use makes it Failed instead (InvalidImage).
 * Zip functions are not created: the action never asks for one, and refusing is the stricter
 * candidate for a stand-in that models image functions.
 */

// CreateFunction's Role pattern (Lambda API reference).
const ROLE_ARN = /^arn:(aws[a-zA-Z-]*)?:iam::(\d{12}):role\/?[a-zA-Z_0-9+=,.@\-_/]+$/

export async function createImageFunction(
  state: StandInState,
  registry: ImageRegistry,
  body: Record<string, unknown>,
  caller: Caller
): Promise<FunctionRecord> {
  const raw = typeof body.FunctionName === 'string' ? body.FunctionName : ''
  const parsed = parseFunctionName(raw)
  if (!parsed || parsed.qualifier) {
    throw lambdaError(
      'ValidationException',
      LAMBDA_MESSAGES.validation(
        raw,
        'functionName',
        `Member must satisfy regular expression pattern: ${FUNCTION_NAME_PATTERN}`
      )
    )
  }
  const account = parsed.account ?? caller.account
  const region = parsed.region ?? caller.region
  if (account !== caller.account || region !== caller.region) {
    throw lambdaError(
      'AccessDeniedException',
      LAMBDA_MESSAGES.accessDenied(
        callerArn(caller),
        'lambda:CreateFunction',
        functionArn(account, region, parsed.name)
      )
    )
  }
  const role = typeof body.Role === 'string' ? body.Role : ''
  const roleMatch = ROLE_ARN.exec(role)
  if (!roleMatch) {
    throw lambdaError(
      'ValidationException',
      LAMBDA_MESSAGES.validation(
        role || 'null',
        'role',
        `Member must satisfy regular expression pattern: ${LAMBDA_MESSAGES.rolePattern}`
      )
    )
  }
  // The stand-in keeps no roles. The stricter reading of "the role cannot be assumed by Lambda":
  // a role of another account (an execution role is the function account's own), and a role
  // named untrusted* (stack/topology.json: such roles trust nobody).
  const roleName = role.slice(role.lastIndexOf('/') + 1)
  if (roleMatch[2] !== account || roleName.startsWith('untrusted')) {
    throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.roleCannotBeAssumed)
  }
  const timeout = optionalNumber(body, 'Timeout', 1, 900) ?? FUNCTION_DEFAULTS.timeout
  const memorySize = optionalNumber(body, 'MemorySize', 128, 10240) ?? FUNCTION_DEFAULTS.memorySize
  const architectures = optionalArchitectures(body.Architectures) ?? [
    ...FUNCTION_DEFAULTS.architectures
  ]
  if (optionalString(body, 'PackageType') !== 'Image') {
    throw lambdaError(
      'InvalidParameterValueException',
      'The stand-in creates image functions only (PackageType Image).'
    )
  }
  const code = (body.Code ?? {}) as Record<string, unknown>
  const imageUri = typeof code.ImageUri === 'string' ? code.ImageUri : undefined
  if (!imageUri) {
    throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.createImageUriMissing)
  }
  const key = recordKey(account, region, parsed.name)
  if (state.functions.has(key)) {
    throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.functionExists(parsed.name))
  }
  const fn: FunctionRecord = {
    account,
    region,
    name: parsed.name,
    packageType: 'Image',
    code: { imageUri, codeSha256: '', codeSize: 0 },
    settings: {
      description: optionalString(body, 'Description') ?? '',
      role,
      timeout,
      memorySize,
      architectures
    },
    lastModified: lastModifiedNow(),
    revisionId: newRevisionId(),
    lastUpdate: { status: 'Successful' },
    state: { name: 'Pending' },
    versions: [],
    aliases: {}
  }
  const image = await resolveFunctionImage(state, registry, fn, imageUri)
  // The registry was read meanwhile: another create of the same name may have won.
  if (state.functions.has(key)) {
    throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.functionExists(parsed.name))
  }
  fn.code = {
    imageUri,
    resolvedImageUri: image.resolvedImageUri,
    codeSha256: image.digest.replace(/^sha256:/, ''),
    codeSize: 0,
    imageArchitecture: image.imageArchitecture,
    unsupportedLayer: image.unsupportedLayer
  }
  const next: FunctionState = image.unsupportedLayer
    ? {
        name: 'Failed',
        reason: UNSUPPORTED_LAYER_FAILURE.reason(image.unsupportedLayer),
        reasonCode: UNSUPPORTED_LAYER_FAILURE.reasonCode
      }
    : { name: 'Active' }
  fn.state = {
    name: 'Pending',
    ...FUNCTION_STATE_REASONS.creating,
    endsAt: Date.now() + state.settings.updateDelayMs,
    next
  }
  state.functions.set(key, fn)
  return fn
}
