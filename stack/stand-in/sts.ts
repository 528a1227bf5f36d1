import { randomUUID } from 'node:crypto'
import { STS_MESSAGES, STS_XML_NAMESPACE } from './aws-wording.js'
import { callerArn, type Caller } from './sigv4.js'
import { addSession, isKnownAccount } from './topology.js'
import { AwsError, escapeXml } from './wire.js'

/**
 * AWS STS: GetCallerIdentity (who the signature says the caller is: the account's IAM user, or
 * the assumed-role ARN of a role session) and AssumeRole (temporary credentials with a session
 * token; every role in a known account exists and trusts every caller, except roles whose name
 * starts with `untrusted`; the caller's own sts:AssumeRole permission is checked in server.ts).
 * Query protocol: the action comes form-encoded in the body, the answer is XML (STS API
 * reference).
 */

/** AssumeRole's DurationSeconds default and bounds (STS AssumeRole API reference). */
const ASSUME_ROLE_DURATION = { defaultSeconds: 3600, minSeconds: 900, maxSeconds: 43200 } as const

/** The Action of a Query-protocol request body, e.g. GetCallerIdentity. */
export function stsAction(body: Buffer): string | undefined {
  return new URLSearchParams(body.toString('utf8')).get('Action') ?? undefined
}

export function callSts(action: string, caller: Caller, body: Buffer = Buffer.alloc(0)): string {
  if (action === 'AssumeRole') return assumeRole(new URLSearchParams(body.toString('utf8')), caller)
  if (action !== 'GetCallerIdentity') {
    throw new AwsError('InvalidAction', STS_MESSAGES.unknownAction(action), 400)
  }
  return [
    `<GetCallerIdentityResponse xmlns="${STS_XML_NAMESPACE}">`,
    '<GetCallerIdentityResult>',
    `<Arn>${escapeXml(callerArn(caller))}</Arn>`,
    `<UserId>${escapeXml(caller.principal.userId)}</UserId>`,
    `<Account>${escapeXml(caller.account)}</Account>`,
    '</GetCallerIdentityResult>',
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`,
    '</GetCallerIdentityResponse>'
  ].join('')
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/

function assumeRole(parameters: URLSearchParams, caller: Caller): string {
  const roleArn = parameters.get('RoleArn') ?? ''
  const sessionName = parameters.get('RoleSessionName') ?? ''
  const match = ROLE_ARN.exec(roleArn)
  if (!match || !/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    throw new AwsError('ValidationError', `Invalid RoleArn or RoleSessionName: ${roleArn}`, 400)
  }
  const [, account, roleName] = match as unknown as [string, string, string]
  if (!isKnownAccount(account) || roleName.startsWith('untrusted')) {
    throw new AwsError(
      'AccessDenied',
      `User: ${callerArn(caller)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403
    )
  }
  const duration = Number(parameters.get('DurationSeconds') ?? ASSUME_ROLE_DURATION.defaultSeconds)
  if (
    !Number.isInteger(duration) ||
    duration < ASSUME_ROLE_DURATION.minSeconds ||
    duration > ASSUME_ROLE_DURATION.maxSeconds
  ) {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${parameters.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value between ${ASSUME_ROLE_DURATION.minSeconds} and ${ASSUME_ROLE_DURATION.maxSeconds}`,
      400
    )
  }
  const session = addSession(account, roleName, sessionName, duration * 1000)
  const expiration = new Date(session.expiresAt).toISOString()
  return [
    `<AssumeRoleResponse xmlns="${STS_XML_NAMESPACE}">`,
    '<AssumeRoleResult>',
    '<Credentials>',
    `<AccessKeyId>${session.accessKeyId}</AccessKeyId>`,
    `<SecretAccessKey>${escapeXml(session.secretAccessKey)}</SecretAccessKey>`,
    `<SessionToken>${escapeXml(session.sessionToken)}</SessionToken>`,
    `<Expiration>${expiration}</Expiration>`,
    '</Credentials>',
    `<AssumedRoleUser><Arn>arn:aws:sts::${account}:assumed-role/${escapeXml(roleName)}/${escapeXml(sessionName)}</Arn>`,
    `<AssumedRoleId>AROASTANDIN${account}:${escapeXml(sessionName)}</AssumedRoleId></AssumedRoleUser>`,
    '</AssumeRoleResult>',
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`,
    '</AssumeRoleResponse>'
  ].join('')
}
