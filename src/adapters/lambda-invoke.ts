import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda'
import { ActionError } from '../domain/errors.js'
import { errorName, explainAwsError } from './aws-errors.js'

/** One synchronous invocation, as the verify step needs it; no SDK types beyond this adapter. */
export interface InvokeRequest {
  readonly functionName: string
  /** A version number or alias; undefined invokes $LATEST. */
  readonly qualifier?: string
  /** The event: JSON text. */
  readonly payload: string
  /** How long to wait for the answer before giving up on the call. */
  readonly timeoutMs: number
  /** Aborts the call (the job was cancelled): the wait for the answer ends at once. */
  readonly signal?: AbortSignal
}

export interface InvokeAnswer {
  /** 200 for a synchronous invocation, also when the function failed. */
  readonly statusCode: number
  /** Set when the function failed: "Unhandled" (Lambda API reference, Invoke, X-Amz-Function-Error). */
  readonly functionError?: string
  /** The response (or the error document when functionError is set), UTF-8. */
  readonly payload: string
  /** The last 4 KB of the invocation's log, decoded from LogResult. */
  readonly logTail: string
  readonly executedVersion?: string
}

/** Lambda's Invoke. Throws an ActionError when the call itself fails. */
export interface FunctionInvoker {
  invoke(request: InvokeRequest): Promise<InvokeAnswer>
}

export function createFunctionInvoker(client: LambdaClient): FunctionInvoker {
  return {
    async invoke(request) {
      const subject = `function ${request.functionName}${request.qualifier ? `:${request.qualifier}` : ''}`
      try {
        const answer = await client.send(
          new InvokeCommand({
            FunctionName: request.functionName,
            Qualifier: request.qualifier,
            InvocationType: 'RequestResponse',
            // The last 4 KB of the log, base64 in LogResult (Lambda API reference, Invoke).
            LogType: 'Tail',
            Payload: Buffer.from(request.payload, 'utf8')
          }),
          {
            abortSignal: request.signal
              ? AbortSignal.any([AbortSignal.timeout(request.timeoutMs), request.signal])
              : AbortSignal.timeout(request.timeoutMs)
          }
        )
        return {
          statusCode: answer.StatusCode ?? 0,
          functionError: answer.FunctionError || undefined,
          payload: answer.Payload ? Buffer.from(answer.Payload).toString('utf8') : '',
          logTail: answer.LogResult ? Buffer.from(answer.LogResult, 'base64').toString('utf8') : '',
          executedVersion: answer.ExecutedVersion
        }
      } catch (error) {
        const name = errorName(error)
        if (request.signal?.aborted) {
          throw new ActionError(
            'verify-invoke-cancelled',
            `The invocation of ${subject} was abandoned: the job was cancelled.`,
            'Run the job again; the invocation may still be running in Lambda.'
          )
        }
        if (name === 'ResourceConflictException' || name === 'ResourceNotReadyException') {
          throw new ActionError(
            'verify-function-not-ready',
            `Lambda did not run ${subject}: ${(error as Error).message}`,
            'The function is not Active or is being updated; check its State and LastUpdateStatus, and run again once it is Active.'
          )
        }
        if (name === 'AbortError' || name === 'TimeoutError') {
          throw new ActionError(
            'verify-invoke-timeout',
            `The invocation of ${subject} did not answer within ${Math.round(request.timeoutMs / 1000)} seconds.`,
            "Check the function's timeout and what it waits for; the invocation may still be running."
          )
        }
        throw explainAwsError(error, 'lambda:InvokeFunction', subject)
      }
    }
  }
}
