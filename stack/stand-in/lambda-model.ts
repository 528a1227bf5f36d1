import { randomUUID } from 'node:crypto'
import { FUNCTION_DEFAULTS } from './aws-wording.js'
import type { AliasRecord, FunctionRecord, FunctionVersionRecord } from './state.js'
import { topology } from './topology.js'

/**
 * Lambda's names and shapes: how a FunctionName is written, what the ARNs look like, and how a
 * function record is shown as FunctionConfiguration, FunctionCodeLocation and AliasConfiguration
 * (field names from the Lambda API reference, "Data Types").
 */

export interface FunctionName {
  readonly name: string
  readonly account?: string
  readonly region?: string
  readonly qualifier?: string
}

// https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html#lambda-GetFunction-request-FunctionName
const NAME = '[a-zA-Z0-9-_]{1,64}'
// $LATEST.PUBLISHED: Lambda Managed Instances (API reference, FunctionArn pattern
// ...(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?).
const QUALIFIER = '(?::(\\$LATEST(?:\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?'
const FULL_ARN = new RegExp(
  `^arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-[a-z]+)+-\\d):(\\d{12}):function:(${NAME})${QUALIFIER}$`
)
const PARTIAL_ARN = new RegExp(`^(\\d{12}):function:(${NAME})${QUALIFIER}$`)
const PLAIN_NAME = new RegExp(`^(${NAME})${QUALIFIER}$`)
export const FUNCTION_NAME_PATTERN =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?'

export function parseFunctionName(raw: string): FunctionName | undefined {
  const full = FULL_ARN.exec(raw)
  if (full) return { region: full[1], account: full[2], name: full[3]!, qualifier: full[4] }
  const partial = PARTIAL_ARN.exec(raw)
  if (partial) return { account: partial[1], name: partial[2]!, qualifier: partial[3] }
  const plain = PLAIN_NAME.exec(raw)
  if (plain) return { name: plain[1]!, qualifier: plain[2] }
  return undefined
}

export function functionArn(
  account: string,
  region: string,
  name: string,
  qualifier?: string
): string {
  const arn = `arn:${topology.partition}:lambda:${region}:${account}:function:${name}`
  return qualifier ? `${arn}:${qualifier}` : arn
}

export function arnOf(fn: FunctionRecord, qualifier?: string): string {
  return functionArn(fn.account, fn.region, fn.name, qualifier)
}

/** Lambda's LastModified format, e.g. 2024-05-01T12:34:56.789+0000. */
export function lastModifiedNow(now: Date = new Date()): string {
  return now.toISOString().replace('Z', '+0000')
}

export function newRevisionId(): string {
  return randomUUID()
}

export function defaultRole(account: string): string {
  return `arn:${topology.partition}:iam::${account}:role/stand-in-lambda-role`
}

/** FunctionConfiguration of $LATEST, or of a published version. */
export function configurationShape(fn: FunctionRecord, version?: FunctionVersionRecord) {
  const code = version?.code ?? fn.code
  const settings = version?.settings ?? fn.settings
  // Published versions are immutable snapshots; only $LATEST goes through updates.
  const update = version ? { status: 'Successful' as const } : fn.lastUpdate
  return {
    FunctionName: fn.name,
    FunctionArn: arnOf(fn, version?.version),
    Runtime: fn.packageType === 'Zip' ? settings.runtime : undefined,
    Handler: fn.packageType === 'Zip' ? settings.handler : undefined,
    Role: settings.role,
    CodeSize: code.codeSize,
    Description: version?.description ?? settings.description,
    Timeout: settings.timeout,
    MemorySize: settings.memorySize,
    LastModified: version?.lastModified ?? fn.lastModified,
    CodeSha256: code.codeSha256,
    Version: version?.version ?? '$LATEST',
    Environment: settings.environment ? { Variables: settings.environment } : undefined,
    TracingConfig: { Mode: FUNCTION_DEFAULTS.tracingMode },
    RevisionId: version?.revisionId ?? fn.revisionId,
    // Published versions are Active snapshots, except a Managed Instances version being
    // provisioned (lambda-kinds.ts); $LATEST carries the function's State.
    State: version ? (version.state?.name ?? 'Active') : fn.state.name,
    StateReason: version ? version.state?.reason : fn.state.reason,
    StateReasonCode: version ? version.state?.reasonCode : fn.state.reasonCode,
    LastUpdateStatus: update.status,
    LastUpdateStatusReason: 'reason' in update ? update.reason : undefined,
    LastUpdateStatusReasonCode: 'reasonCode' in update ? update.reasonCode : undefined,
    PackageType: fn.packageType,
    ImageConfigResponse: settings.imageConfig ? { ImageConfig: settings.imageConfig } : undefined,
    Architectures: [...settings.architectures],
    EphemeralStorage: { Size: FUNCTION_DEFAULTS.ephemeralStorageMb },
    // Every recorded FunctionConfiguration carries it, off (AWS-validated LocalStack snapshots,
    // test_lambda_api TestLambdaImages::test_lambda_image_crud).
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` },
    // API reference, FunctionConfiguration: CapacityProviderConfig (Lambda Managed Instances)
    // and DurableConfig (durable functions), shown as set (lambda-kinds.ts).
    CapacityProviderConfig: fn.managedInstances
      ? {
          LambdaManagedInstancesCapacityProviderConfig: {
            CapacityProviderArn: fn.managedInstances.capacityProviderArn
          }
        }
      : undefined,
    DurableConfig: fn.durableConfig
  }
}

/** GetFunction's Code: where the code is. Image functions name the image, as given and resolved. */
export function codeLocationShape(fn: FunctionRecord, version?: FunctionVersionRecord) {
  const code = version?.code ?? fn.code
  if (fn.packageType === 'Image') {
    return {
      RepositoryType: 'ECR',
      ImageUri: code.imageUri,
      ResolvedImageUri: code.resolvedImageUri
    }
  }
  return {
    RepositoryType: 'S3',
    Location: `https://awslambda-${fn.region}-tasks.s3.${fn.region}.amazonaws.com/snapshots/${fn.account}/${fn.name}-stand-in`
  }
}

export function aliasShape(fn: FunctionRecord, alias: AliasRecord) {
  return {
    AliasArn: arnOf(fn, alias.name),
    Name: alias.name,
    FunctionVersion: alias.functionVersion,
    Description: alias.description,
    RoutingConfig: alias.additionalVersionWeights
      ? { AdditionalVersionWeights: alias.additionalVersionWeights }
      : undefined,
    RevisionId: alias.revisionId
  }
}
