/**
 * Hiding the function's variable values in what the action prints and writes. The runner masks
 * what core.setSecret registered in the log it shows, but not in the job summary, and not in the
 * raw output before registration; the action masks its own text the same way.
 *
 * What is registered must not be part of what the action itself publishes: the runner shows a
 * registered value as `***` wherever it appears, and drops every job output that contains one
 * ("Skip output 'x' since it may contain secret"). A variable holding the account id or the
 * region (common) would otherwise blank out image-uri, function-arn and repository.
 */

/**
 * Values shorter than this are not treated as secrets: masking "prod" or "true" would blank out
 * every occurrence of the word in the log, and a secret that short is not worth hiding.
 */
export const MIN_SECRET_LENGTH = 8

/**
 * The values (and, for multi-line ones, each line) to register and mask, longest first.
 * `published` holds what the run shows anyway (names, ARNs, URIs, digests, tags: see
 * publishedValues): a value found inside one of them is no secret, since the outputs and the log
 * print it in the clear, and registering it would mask those.
 */
export function secretValues(
  variables: Readonly<Record<string, string>>,
  published: readonly string[]
): string[] {
  const found = new Set<string>()
  for (const value of Object.values(variables)) {
    for (const part of [value, ...value.split(/\r?\n/)]) {
      if (part.length < MIN_SECRET_LENGTH) continue
      if (published.some(shown => shown.includes(part))) continue
      found.add(part)
    }
  }
  // Longest first, so a value that contains a shorter one is replaced whole.
  return [...found].sort((a, b) => b.length - a.length)
}

/** `text` with every occurrence of each secret replaced by `***`, as the runner shows it. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text
  for (const secret of secrets) masked = masked.split(secret).join('***')
  return masked
}
