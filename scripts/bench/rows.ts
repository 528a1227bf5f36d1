/** One line of a bench table: a figure, the hand pipeline's figure beside it, and its target. */
export interface Row {
  readonly id: string
  readonly figure: string
  readonly value: string
  readonly baseline: string
  readonly target: string
  /** null: a reference figure with no target, or the feature is not available yet. */
  readonly pass: boolean | null
  readonly note?: string
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
export const percent = (ratio: number): string => `${(ratio * 100).toFixed(0)} %`

export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    '| figure | value | baseline (awscli + docker by hand) | target | result |',
    '| --- | --- | --- | --- | --- |'
  ]
  for (const r of rows) {
    const verdict =
      r.pass === null
        ? r.value === 'not available'
          ? 'not available'
          : '—'
        : r.pass
          ? 'pass'
          : '**FAIL**'
    const note = r.note ? `<br>${r.note.replace(/\|/g, '\\|')}` : ''
    lines.push(`| ${r.figure} | ${r.value}${note} | ${r.baseline} | ${r.target} | ${verdict} |`)
  }
  return lines.join('\n')
}
