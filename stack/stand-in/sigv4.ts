import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import type { IncomingHttpHeaders } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import {
  AUTH_ERROR_CODES,
  AUTH_ERROR_STATUS,
  AUTH_MESSAGES,
  SIGNATURE_MAX_SKEW_MS
} from './aws-wording.js'
import { accountByAccessKey, isKnownRegion, isSession, roleArn, userArn } from './topology.js'
import { AwsError, type Protocol } from './wire.js'

/**
 * Checks an incoming request's Signature Version 4 the way AWS does: the access key names the
 * account, the credential scope names the region and the service, and the signature is
 * recomputed over the request exactly as received (method, encoded path, query, the headers the
 * caller chose to sign, body). Nothing else identifies a caller.
 */

export interface ReceivedRequest {
  readonly method: string
  /** The path as received, still percent-encoded once (the canonical request encodes it again). */
  readonly path: string
  /** Query parameters, decoded. */
  readonly query: Record<string, string | string[]>
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

/** Who is calling, as the signature proves it. */
export interface Caller {
  readonly account: string
  readonly accessKeyId: string
  readonly region: string
  readonly service: string
  readonly principal: CallerPrincipal
}

/** The IAM identity behind a key: the account's user, or a session of a role. */
export interface CallerPrincipal {
  /** What GetCallerIdentity answers and AccessDenied messages name: the user ARN, or
   * arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION (STS GetCallerIdentity, "Returns"). */
  readonly arn: string
  /** The user or role ARN whose identity-based policies apply. */
  readonly policyHolder: string
  /** IAM unique ids: AIDA… for users, AROA…:SESSION for role sessions (IAM "Unique identifiers"). */
  readonly userId: string
}

export type AuthFailureKind =
  'missing' | 'incomplete' | 'unknownKey' | 'badSignature' | 'expiredToken'

export class AuthFailure extends Error {
  constructor(
    readonly kind: AuthFailureKind,
    message: string
  ) {
    super(message)
    this.name = 'AuthFailure'
  }
}

interface AuthorizationHeader {
  readonly accessKeyId: string
  readonly scopeDate: string
  readonly region: string
  readonly service: string
  readonly signedHeaders: readonly string[]
  readonly signature: string
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

export async function authenticate(
  request: ReceivedRequest,
  expectedService: string,
  now: Date = new Date()
): Promise<Caller> {
  const header = single(request.headers.authorization)
  if (!header) throw new AuthFailure('missing', AUTH_MESSAGES.missing)
  const authorization = parseAuthorization(header)
  const signingDate = parseAmzDate(single(request.headers['x-amz-date']))

  const account = accountByAccessKey(authorization.accessKeyId)
  if (!account) throw new AuthFailure('unknownKey', AUTH_MESSAGES.unknownKey)
  if (isSession(account)) {
    // Temporary credentials are valid only with their session token (STS "Using temporary
    // credentials with AWS resources"); a wrong or missing one is an invalid token.
    const token = single(request.headers['x-amz-security-token'])
    if (token === undefined || !sameText(token, account.sessionToken)) {
      throw new AuthFailure('unknownKey', AUTH_MESSAGES.unknownKey)
    }
    if (now.getTime() > account.expiresAt) {
      throw new AuthFailure('expiredToken', AUTH_MESSAGES.expiredToken)
    }
  }
  if (authorization.service !== expectedService) {
    throw new AuthFailure('badSignature', AUTH_MESSAGES.wrongService(expectedService))
  }
  if (!isKnownRegion(authorization.region)) {
    throw new AuthFailure('badSignature', AUTH_MESSAGES.wrongRegion(authorization.region))
  }
  checkClock(signingDate, now)

  const signedHeaders: Record<string, string> = {}
  for (const name of authorization.signedHeaders) {
    const value = request.headers[name]
    if (value === undefined) throw new AuthFailure('badSignature', AUTH_MESSAGES.badSignature)
    signedHeaders[name] = Array.isArray(value) ? value.join(',') : value
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: account.accessKeyId, secretAccessKey: account.secretAccessKey },
    region: authorization.region,
    service: authorization.service,
    sha256: Sha256,
    // The caller's own x-amz-content-sha256 (if it signed one) is among signedHeaders already.
    applyChecksum: false
  })
  const recomputed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: signedHeaders.host ?? '',
      path: request.path,
      query: request.query,
      headers: signedHeaders,
      body: request.body
    },
    {
      signingDate,
      signingRegion: authorization.region,
      signingService: authorization.service,
      signableHeaders: new Set(authorization.signedHeaders)
    }
  )
  const expected = /Signature=([0-9a-f]+)/.exec(String(recomputed.headers.authorization))?.[1] ?? ''
  if (!sameText(expected, authorization.signature)) {
    throw new AuthFailure('badSignature', AUTH_MESSAGES.badSignature)
  }
  return {
    account: account.id,
    accessKeyId: account.accessKeyId,
    region: authorization.region,
    service: authorization.service,
    principal: isSession(account)
      ? {
          arn: `arn:${partitionOf(roleArn(account.id, account.roleName))}:sts::${account.id}:assumed-role/${account.roleName}/${account.sessionName}`,
          policyHolder: roleArn(account.id, account.roleName),
          userId: `AROASTANDIN${account.id}:${account.sessionName}`
        }
      : {
          arn: userArn(account.id),
          policyHolder: userArn(account.id),
          userId: `AIDASTANDIN${account.id}`
        }
  }
}

/** Who the caller is, as AWS names it in GetCallerIdentity and AccessDenied messages. */
export function callerArn(caller: Pick<Caller, 'principal'>): string {
  return caller.principal.arn
}

function partitionOf(arn: string): string {
  return arn.split(':')[1] ?? 'aws'
}

/** The failure in the shape the caller's protocol uses (codes and statuses differ by protocol). */
export function authError(failure: AuthFailure, protocol: Protocol): AwsError {
  const codes = protocol === 'query' ? AUTH_ERROR_CODES.query : AUTH_ERROR_CODES.json
  return new AwsError(codes[failure.kind], failure.message, AUTH_ERROR_STATUS[protocol])
}

export function parseAuthorization(header: string): AuthorizationHeader {
  const [algorithm, ...rest] = header.trim().split(/\s+/)
  if (algorithm !== ALGORITHM) {
    throw new AuthFailure('incomplete', AUTH_MESSAGES.incomplete('Credential'))
  }
  const fields = new Map<string, string>()
  for (const part of rest.join(' ').split(',')) {
    const equals = part.indexOf('=')
    if (equals > 0) fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (!credential) throw new AuthFailure('incomplete', AUTH_MESSAGES.incomplete('Credential'))
  if (!signedHeaders) throw new AuthFailure('incomplete', AUTH_MESSAGES.incomplete('SignedHeaders'))
  if (!signature) throw new AuthFailure('incomplete', AUTH_MESSAGES.incomplete('Signature'))
  const [accessKeyId, scopeDate, region, service, terminator] = credential.split('/')
  if (!accessKeyId || !scopeDate || !region || !service || terminator !== 'aws4_request') {
    throw new AuthFailure('incomplete', AUTH_MESSAGES.incomplete('Credential'))
  }
  return {
    accessKeyId,
    scopeDate,
    region,
    service,
    signedHeaders: signedHeaders.split(';').map(name => name.toLowerCase()),
    signature
  }
}

function parseAmzDate(value: string | undefined): Date {
  const match = AMZ_DATE.exec(value ?? '')
  if (!match) throw new AuthFailure('incomplete', AUTH_MESSAGES.incomplete('X-Amz-Date'))
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = match
    .slice(1)
    .map(Number)
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second))
}

function checkClock(signed: Date, now: Date): void {
  const skew = now.getTime() - signed.getTime()
  if (skew > SIGNATURE_MAX_SKEW_MS) {
    throw new AuthFailure(
      'badSignature',
      AUTH_MESSAGES.expired(
        amzDate(signed),
        amzDate(new Date(now.getTime() - SIGNATURE_MAX_SKEW_MS)),
        amzDate(now)
      )
    )
  }
  if (-skew > SIGNATURE_MAX_SKEW_MS) {
    throw new AuthFailure(
      'badSignature',
      AUTH_MESSAGES.notYetCurrent(
        amzDate(signed),
        amzDate(new Date(now.getTime() + SIGNATURE_MAX_SKEW_MS)),
        amzDate(now)
      )
    )
  }
}

function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
