import type { ServiceName } from './aws-wording.js'

/**
 * Faults a test injects through the control API, each firing a given number of times. Some act
 * before the operation runs (throttle, server-error, slow, conflict); two change what a
 * successful operation leaves behind (update-failed, policy-race).
 */

export const FAULT_KINDS = [
  'throttle',
  'server-error',
  'slow',
  'conflict',
  'update-failed',
  'policy-race'
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** Kinds that answer instead of (or delay) the operation. */
export const BEFORE_CALL_KINDS: readonly FaultKind[] = [
  'throttle',
  'server-error',
  'slow',
  'conflict'
]

/** What a server-error fault answers with (the stand-in's words, not AWS's). */
export const INJECTED_SERVER_ERROR =
  'The stand-in was told to fail this request (server-error fault).'

export interface FaultSpec {
  readonly service: ServiceName
  /** An operation name such as UpdateFunctionCode, or "*" for every operation of the service. */
  readonly operation: string
  readonly kind: FaultKind
  readonly times: number
  /** slow: how long to wait before answering (default 1000 ms). */
  readonly delayMs?: number
  /** update-failed: LastUpdateStatusReason of the failed update. */
  readonly reason?: string
  /** update-failed: LastUpdateStatusReasonCode (default InvalidImage). */
  readonly reasonCode?: string
  /** policy-race: the policy text a concurrent writer puts in place right after ours. */
  readonly policy?: string
}

export class FaultSpecError extends Error {
  override name = 'FaultSpecError'
}

/** Which service each kind makes sense for; the others would be faults AWS cannot have. */
const KIND_SERVICES: Record<FaultKind, readonly ServiceName[]> = {
  throttle: ['ecr', 'lambda', 'sts', 'cloudwatch'],
  'server-error': ['ecr', 'lambda', 'sts', 'cloudwatch'],
  slow: ['ecr', 'lambda', 'sts', 'cloudwatch'],
  conflict: ['lambda'],
  'update-failed': ['lambda'],
  'policy-race': ['ecr']
}

export function parseFaultSpec(input: unknown): FaultSpec {
  if (!input || typeof input !== 'object') throw new FaultSpecError('A fault is a JSON object')
  const value = input as Record<string, unknown>
  const service = value.service
  const kind = value.kind
  if (service !== 'ecr' && service !== 'lambda' && service !== 'sts' && service !== 'cloudwatch') {
    throw new FaultSpecError('service must be "ecr", "lambda", "sts" or "cloudwatch"')
  }
  if (typeof kind !== 'string' || !FAULT_KINDS.includes(kind as FaultKind)) {
    throw new FaultSpecError(`kind must be one of ${FAULT_KINDS.join(', ')}`)
  }
  if (!KIND_SERVICES[kind as FaultKind].includes(service)) {
    throw new FaultSpecError(`a ${kind} fault does not exist for ${service}`)
  }
  if (typeof value.operation !== 'string' || value.operation === '') {
    throw new FaultSpecError('operation must be an operation name or "*"')
  }
  const times = value.times ?? 1
  if (typeof times !== 'number' || !Number.isInteger(times) || times < 1) {
    throw new FaultSpecError('times must be a positive integer')
  }
  if (kind === 'policy-race' && typeof value.policy !== 'string') {
    throw new FaultSpecError('a policy-race fault needs the policy text to put in place')
  }
  for (const field of ['reason', 'reasonCode', 'policy'] as const) {
    if (value[field] !== undefined && typeof value[field] !== 'string') {
      throw new FaultSpecError(`${field} must be a string`)
    }
  }
  if (value.delayMs !== undefined && (typeof value.delayMs !== 'number' || value.delayMs < 0)) {
    throw new FaultSpecError('delayMs must be a number of milliseconds')
  }
  return {
    service,
    operation: value.operation,
    kind: kind as FaultKind,
    times,
    delayMs: value.delayMs,
    reason: value.reason as string | undefined,
    reasonCode: value.reasonCode as string | undefined,
    policy: value.policy as string | undefined
  }
}

/** An armed fault as the control API shows it: spent ones stay listed until the plan is cleared. */
export interface ArmedFault {
  /** Numbered in the order armed, from 1 after each clear. */
  readonly id: number
  readonly spec: FaultSpec
  /** Firings left; 0 once spent. */
  readonly remaining: number
  /** Firings so far (spec.times - remaining). */
  readonly fired: number
}

/** One fault spec, or a list of them armed together (all valid, or none armed). */
export function parseFaultSpecs(input: unknown): FaultSpec[] {
  if (!Array.isArray(input)) return [parseFaultSpec(input)]
  if (input.length === 0) throw new FaultSpecError('A list of faults needs at least one fault')
  return input.map((item, index) => {
    try {
      return parseFaultSpec(item)
    } catch (error) {
      if (!(error instanceof FaultSpecError)) throw error
      throw new FaultSpecError(`fault ${index + 1}: ${error.message}`)
    }
  })
}

export class FaultPlan {
  private armed: { id: number; spec: FaultSpec; remaining: number }[] = []
  private nextId = 1

  /** Arms a fault; its id in list(). */
  add(spec: FaultSpec): number {
    const id = this.nextId
    this.nextId += 1
    this.armed.push({ id, spec, remaining: spec.times })
    return id
  }

  clear(): void {
    this.armed = []
    this.nextId = 1
  }

  /**
   * Every fault armed since the last clear, spent ones included, so a test that armed several
   * at once can tell that each of them fired, and how often.
   */
  list(): ArmedFault[] {
    return this.armed.map(fault => ({
      id: fault.id,
      spec: fault.spec,
      remaining: fault.remaining,
      fired: fault.spec.times - fault.remaining
    }))
  }

  /** Takes one firing of the first armed fault of these kinds for this operation, if any. */
  take(
    service: ServiceName,
    operation: string,
    kinds: readonly FaultKind[]
  ): FaultSpec | undefined {
    const fault = this.armed.find(
      candidate =>
        candidate.remaining > 0 &&
        candidate.spec.service === service &&
        (candidate.spec.operation === '*' || candidate.spec.operation === operation) &&
        kinds.includes(candidate.spec.kind)
    )
    if (!fault) return undefined
    fault.remaining -= 1
    return fault.spec
  }
}
