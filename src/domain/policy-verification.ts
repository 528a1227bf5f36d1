/**
 * Reading back a repository policy after writing it. ECR's SetRepositoryPolicy has no
 * conditional write (no revision or ETag to compare), so a concurrent writer is only seen by
 * reading the policy again: every statement that was written must still be there, unchanged.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/**
 * The statements of `written` that `readBack` no longer holds unchanged (key order and the order
 * of string lists do not count). Empty when the write stuck, whatever else was added.
 */
export function statementsMissing(written: string, readBack: string | undefined): Json[] {
  const present = new Set(statementsOf(readBack).map(canonical))
  return statementsOf(written).filter(statement => !present.has(canonical(statement)))
}

/** A short name for a statement in a log line: its Sid, or its position. */
export function statementLabel(statement: Json, index: number): string {
  const sid =
    typeof statement === 'object' && statement !== null && !Array.isArray(statement)
      ? statement.Sid
      : undefined
  return typeof sid === 'string' && sid !== '' ? `"${sid}"` : `statement ${index + 1}`
}

/** The statements of a policy text; none when it is absent or not a policy. */
export function statementsOf(text: string | undefined): Json[] {
  if (text === undefined || text.trim() === '') return []
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return []
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return []
  const raw = (parsed as { Statement?: Json }).Statement
  if (raw === undefined) return []
  return Array.isArray(raw) ? raw : [raw]
}

function canonical(value: Json): string {
  return JSON.stringify(normalized(value))
}

function normalized(value: Json): Json {
  if (Array.isArray(value)) {
    const items = value.map(normalized)
    return items.every(item => typeof item === 'string') ? [...items].sort() : items
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map(key => [key, normalized(value[key]!)])
    )
  }
  return value
}
