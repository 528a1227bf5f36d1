import type { ServerResponse } from 'node:http'
import {
  ECR_CONTENT_TYPE,
  LAMBDA_ERRORS,
  STS_XML_NAMESPACE,
  type LambdaErrorCode
} from './aws-wording.js'

/**
 * How each of the three protocols puts an answer or an error on the wire, so that the SDK's own
 * deserializers recognise them: JSON 1.1 (`__type` in the body), REST-JSON (`x-amzn-ErrorType`
 * header, HTTP status per error) and Query (an XML ErrorResponse).
 */

export type Protocol = 'json' | 'rest-json' | 'query'

/** An AWS error as a value: a handler throws it, the server renders it in the caller's protocol. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Extra members of the error shape (e.g. Lambda's `Reason`). */
    readonly members: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
    this.name = code
  }

  /** Client errors are the caller's fault (4xx); only those say "User"/"Sender". */
  get isClientError(): boolean {
    return this.status < 500
  }
}

export function lambdaError(
  code: LambdaErrorCode,
  message: string,
  members: Record<string, unknown> = {},
  headers: Record<string, string> = {}
): AwsError {
  return new AwsError(code, message, LAMBDA_ERRORS[code].status, members, headers)
}

export function writeResult(
  response: ServerResponse,
  protocol: Protocol,
  status: number,
  body: unknown,
  requestId: string
): void {
  if (protocol === 'query') {
    write(response, status, 'text/xml', String(body), requestId)
    return
  }
  const text = body === undefined ? '' : JSON.stringify(body)
  write(response, status, contentTypeOf(protocol), text, requestId)
}

export function writeError(
  response: ServerResponse,
  protocol: Protocol,
  error: AwsError,
  requestId: string
): void {
  switch (protocol) {
    case 'json':
      write(
        response,
        error.status,
        ECR_CONTENT_TYPE,
        JSON.stringify({ __type: error.code, message: error.message, ...error.members }),
        requestId,
        error.headers
      )
      return
    case 'rest-json': {
      const known = LAMBDA_ERRORS[error.code as LambdaErrorCode] as
        (typeof LAMBDA_ERRORS)[LambdaErrorCode] | undefined
      const messageMember = known?.messageMember ?? 'message'
      const body = {
        Type: error.isClientError ? 'User' : 'Service',
        [messageMember]: error.message,
        ...error.members
      }
      write(response, error.status, 'application/json', JSON.stringify(body), requestId, {
        'x-amzn-ErrorType': error.code,
        ...error.headers
      })
      return
    }
    case 'query':
      write(
        response,
        error.status,
        'text/xml',
        [
          `<ErrorResponse xmlns="${STS_XML_NAMESPACE}">`,
          '<Error>',
          `<Type>${error.isClientError ? 'Sender' : 'Receiver'}</Type>`,
          `<Code>${escapeXml(error.code)}</Code>`,
          `<Message>${escapeXml(error.message)}</Message>`,
          '</Error>',
          `<RequestId>${requestId}</RequestId>`,
          '</ErrorResponse>'
        ].join(''),
        requestId,
        error.headers
      )
  }
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

function contentTypeOf(protocol: Protocol): string {
  return protocol === 'json' ? ECR_CONTENT_TYPE : 'application/json'
}

function write(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  requestId: string,
  headers: Record<string, string> = {}
): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
    ...headers
  })
  response.end(body)
}
