/**
 * A failure the user can act on. It stays a value (id, reason, fix) until the presentation layer
 * turns it into an annotation, so tests can assert on the id instead of on prose.
 */
export class ActionError extends Error {
  constructor(
    /** Stable identifier, e.g. `repository-region-mismatch`; documented in the README. */
    readonly id: string,
    /** What is wrong (the cause), in one sentence. */
    readonly reason: string,
    /** What the user should do about it. */
    readonly fix: string
  ) {
    super(`${reason} ${fix}`)
    this.name = 'ActionError'
  }
}

export function isActionError(value: unknown): value is ActionError {
  return value instanceof ActionError
}

/** One line for the log and the summary: `[id] cause Fix: fix`, or the message of any other error. */
export function describeFailure(error: unknown): string {
  if (isActionError(error)) return `[${error.id}] ${error.reason} Fix: ${error.fix}`
  if (error instanceof Error) return error.message
  return String(error)
}

/**
 * An error nobody expected, for one annotation: the message and the first frames of its stack
 * (core.setFailed keeps it on one line), with how to report it.
 */
export function describeCrash(error: unknown): string {
  const stack =
    error instanceof Error && error.stack !== undefined
      ? error.stack
          .split('\n')
          .slice(0, CRASH_STACK_FRAMES + 1)
          .join('\n')
      : String(error)
  return `[unexpected-error] The action stopped on an error it does not handle: ${stack}\nFix: run again; if it repeats, report it in the action's issue tracker with this message.`
}

/** Enough frames to find the defect; a deeper stack is noise in an annotation. */
const CRASH_STACK_FRAMES = 12
