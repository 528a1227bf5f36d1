import { randomUUID } from 'node:crypto'
import { STS_MESSAGES, STS_XML_NAMESPACE } from './aws-wording.js'
import { callerArn, type Caller } from './sigv4.js'
import { AwsError, escapeXml } from './wire.js'

/**
 * AWS STS, GetCallerIdentity only: who the signature says the caller is. Query protocol: the
 * action comes form-encoded in the body, the answer is XML (STS API reference).
 */

/** The Action of a Query-protocol request body, e.g. GetCallerIdentity. */
export function stsAction(body: Buffer): string | undefined {
  return new URLSearchParams(body.toString('utf8')).get('Action') ?? undefined
}

export function callSts(action: string, caller: Caller): string {
  if (action !== 'GetCallerIdentity') {
    throw new AwsError('InvalidAction', STS_MESSAGES.unknownAction(action), 400)
  }
  return [
    `<GetCallerIdentityResponse xmlns="${STS_XML_NAMESPACE}">`,
    '<GetCallerIdentityResult>',
    `<Arn>${escapeXml(callerArn(caller))}</Arn>`,
    `<UserId>${escapeXml(userIdOf(caller))}</UserId>`,
    `<Account>${escapeXml(caller.account)}</Account>`,
    '</GetCallerIdentityResult>',
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`,
    '</GetCallerIdentityResponse>'
  ].join('')
}

/** IAM user ids start with AIDA (IAM "Unique identifiers"); one stable id per account. */
function userIdOf(caller: Caller): string {
  return `AIDASTANDIN${caller.account}`
}
