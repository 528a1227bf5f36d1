import { FUNCTION_STATE_REASONS } from './aws-wording.js'
import { newRevisionId } from './lambda-model.js'
import { recordKey, type FunctionState, type StandInState } from './state.js'

/**
 * Control calls for Lambda function states (POST /_stand-in/functions/state), kept apart from
 * control.ts's routes: tests put a function into Pending (for a while, as after creation),
 * Inactive (idle for weeks) or Failed (image deleted, pull access revoked, invalid image), the
 * states "Lambda function states" describes. Not part of any AWS API.
 */

export interface FunctionStateRequest {
  readonly account: string
  readonly region: string
  readonly name: string
  readonly state: 'Pending' | 'Active' | 'Inactive' | 'Failed'
  /** Pending: how long until it becomes Active (as a new function does); default 0. */
  readonly pendingMs?: number
  /** Failed: ImageDeleted, ImageAccessDenied or InvalidImage (Lambda API reference,
   * StateReasonCode); default ImageDeleted. */
  readonly reasonCode?: string
  readonly reason?: string
}

export class FunctionStateRequestError extends Error {}

/** Reasons the stand-in gives a Failed image function; the words are the stand-in's own. */
const FAILED_REASONS: Record<string, string> = {
  ImageDeleted: 'The image the function uses was deleted.',
  ImageAccessDenied: 'Lambda can no longer access the image the function uses.',
  InvalidImage: 'The image the function uses is not valid.'
}

export function setFunctionState(state: StandInState, body: unknown): FunctionState {
  const request = (body ?? {}) as Partial<FunctionStateRequest>
  const fn = state.functions.get(
    recordKey(String(request.account), String(request.region), String(request.name))
  )
  if (!fn) throw new FunctionStateRequestError('No such function (account, region, name)')
  const pendingMs = request.pendingMs ?? 0
  if (typeof pendingMs !== 'number' || pendingMs < 0) {
    throw new FunctionStateRequestError('pendingMs must be a number ≥ 0')
  }
  switch (request.state) {
    case 'Active':
      fn.state = { name: 'Active' }
      break
    case 'Pending':
      fn.state = {
        name: 'Pending',
        ...FUNCTION_STATE_REASONS.creating,
        endsAt: Date.now() + pendingMs,
        next: { name: 'Active' }
      }
      break
    case 'Inactive':
      fn.state = { name: 'Inactive', ...FUNCTION_STATE_REASONS.idle }
      break
    case 'Failed': {
      const reasonCode = request.reasonCode ?? 'ImageDeleted'
      const reason = request.reason ?? FAILED_REASONS[reasonCode]
      if (reason === undefined) {
        throw new FunctionStateRequestError(
          `reasonCode must be one of ${Object.keys(FAILED_REASONS).join(', ')} or come with a reason`
        )
      }
      fn.state = { name: 'Failed', reason, reasonCode }
      break
    }
    default:
      throw new FunctionStateRequestError('state must be Pending, Active, Inactive or Failed')
  }
  fn.revisionId = newRevisionId()
  return fn.state
}
