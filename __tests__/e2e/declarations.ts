/**
 * What an e2e suite may use, by where it lives (jest.config.js): the static half of the store
 * matrix's guard. The runtime half is in harness.ts: the action of an AWS-only suite has no
 * engine. This half catches what the action's run cannot: a suite that calls docker itself.
 */

/** The folders of __tests__/e2e whose suites jest runs; a suite anywhere else would never run. */
export const SUITE_FOLDERS = ['engine', 'serial', 'aws'] as const

/** Ways a suite reaches the engine on its own, each with why it makes the suite store-bound. */
const ENGINE_USES: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /\bnode:child_process\b/, what: 'starts processes (docker, a shell)' },
  { pattern: /['"`]docker['"`]/, what: 'runs the docker CLI' },
  { pattern: /\bpublishPrivateBase\b/, what: 'builds and pushes an image with the engine' },
  { pattern: /\bcreateDockerEngine\b/, what: 'drives the engine through the action’s adapter' }
]

export interface DeclarationProblem {
  readonly file: string
  readonly message: string
}

/** Problems with one e2e file, given its path relative to __tests__/e2e and its text. */
export function declarationProblems(relativePath: string, source: string): DeclarationProblem[] {
  const parts = relativePath.split('/')
  if (!relativePath.endsWith('.test.ts')) return []
  const folder = parts.length > 1 ? parts[0] : undefined
  if (!SUITE_FOLDERS.includes(folder as (typeof SUITE_FOLDERS)[number])) {
    return [
      {
        file: relativePath,
        message: `lives outside ${SUITE_FOLDERS.join(', ')}: no jest project runs it. Put it in engine/ if it builds, checks, pushes, loads, runs or reads an image in the engine, else in aws/.`
      }
    ]
  }
  if (folder !== 'aws') return []
  return ENGINE_USES.filter(use => use.pattern.test(source)).map(use => ({
    file: relativePath,
    message: `is declared AWS-only (aws/ runs once, on one image store) but ${use.what} (${use.pattern.source}); move it to engine/ or take its image from fixtureImage().`
  }))
}
