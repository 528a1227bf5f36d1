import { ActionError } from './errors.js'

/**
 * The lexical layer of a Dockerfile, as BuildKit's parser reads it: parser directives, comments,
 * line continuations and heredoc bodies. It yields logical instructions; what they mean is
 * dockerfile-base.ts's business. Reference: https://docs.docker.com/reference/dockerfile/
 */

export type EscapeCharacter = '\\' | '`'

export interface DockerfileInstruction {
  /** Upper-cased, as keywords are case-insensitive. */
  readonly keyword: string
  /** Everything after the keyword, continuation lines joined, heredoc bodies left out. */
  readonly arguments: string
  /** 1-based line of the keyword. */
  readonly line: number
}

export interface DockerfileSyntax {
  readonly escape: EscapeCharacter
  readonly instructions: readonly DockerfileInstruction[]
  /**
   * The `# syntax=IMAGE` directive: the frontend image BuildKit pulls and runs to read the
   * Dockerfile (https://docs.docker.com/build/buildkit/frontend/). Null when absent.
   */
  readonly syntax: { readonly image: string; readonly line: number } | null
}

// https://docs.docker.com/reference/dockerfile/#parser-directives
const DIRECTIVE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.*?)[ \t]*$/
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check'])
// https://docs.docker.com/reference/dockerfile/#here-documents: only these take heredocs.
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD'])
const HEREDOC_MARKER = /^\d*<<(-?)([^<]+)$/

export function parseDockerfileSyntax(text: string): DockerfileSyntax {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const { escape, syntax } = readDirectives(lines)
  const continuation = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`)
  const instructions: DockerfileInstruction[] = []
  let index = 0
  while (index < lines.length) {
    const first = (lines[index] ?? '').trimStart()
    if (isBlankOrComment(first)) {
      index += 1
      continue
    }
    const line = index + 1
    let logical = ''
    let current = first
    for (;;) {
      index += 1
      if (!continuation.test(current)) {
        logical += current
        break
      }
      logical += current.replace(continuation, '')
      // Comment and empty lines inside a continued instruction are dropped, as BuildKit does.
      while (index < lines.length && isBlankOrComment((lines[index] ?? '').trimStart())) index += 1
      if (index >= lines.length) break
      current = (lines[index] ?? '').trimStart()
    }
    const match = /^(\S+)\s*([\s\S]*)$/.exec(logical.trim())
    if (match === null) continue
    const keyword = (match[1] ?? '').toUpperCase()
    const args = match[2] ?? ''
    instructions.push({ keyword, arguments: args, line })
    if (HEREDOC_INSTRUCTIONS.has(keyword)) index = skipHeredocBodies(lines, index, args, escape)
  }
  return { escape, instructions, syntax }
}

function isBlankOrComment(trimmed: string): boolean {
  return trimmed === '' || trimmed.startsWith('#')
}

/** Reads the directives at the top of the file; the first other line ends them. */
function readDirectives(lines: readonly string[]): {
  escape: EscapeCharacter
  syntax: DockerfileSyntax['syntax']
} {
  let escape: EscapeCharacter = '\\'
  let syntax: DockerfileSyntax['syntax'] = null
  for (const [index, line] of lines.entries()) {
    const directive = DIRECTIVE.exec(line)
    const name = directive?.[1]?.toLowerCase()
    if (directive === null || name === undefined || !KNOWN_DIRECTIVES.has(name)) break
    if (name === 'syntax') {
      const image = directive[2] ?? ''
      if (image !== '') syntax = { image, line: index + 1 }
      continue
    }
    if (name !== 'escape') continue
    const value = directive[2] ?? ''
    if (value !== '\\' && value !== '`') {
      throw new ActionError(
        'dockerfile-invalid-escape',
        `The Dockerfile's escape directive is "${value}"; only \\ and \` are valid.`,
        'Write "# escape=\\" or "# escape=`" on the first line of the Dockerfile.'
      )
    }
    escape = value
  }
  return { escape, syntax }
}

/**
 * Skips the bodies of the heredocs an instruction opens (`<<EOF`, `<<-EOF`, `<<"EOF"`), in order,
 * so that their lines are never read as instructions. A body left open runs to the end of file.
 */
function skipHeredocBodies(
  lines: readonly string[],
  from: number,
  args: string,
  escape: EscapeCharacter
): number {
  if (args.trimStart().startsWith('[')) return from // exec (JSON) form has no heredocs
  let index = from
  for (const word of splitWords(args, escape)) {
    const marker = HEREDOC_MARKER.exec(word)
    if (marker === null) continue
    const stripTabs = marker[1] === '-'
    const delimiter = unquote(marker[2] ?? '')
    while (index < lines.length) {
      const body = lines[index] ?? ''
      index += 1
      if ((stripTabs ? body.replace(/^\t+/, '') : body) === delimiter) break
    }
  }
  return index
}

function unquote(word: string): string {
  const quote = word[0]
  if ((quote === '"' || quote === "'") && word.length >= 2 && word.endsWith(quote)) {
    return word.slice(1, -1)
  }
  return word
}

/**
 * Splits on unquoted whitespace. Words keep their quotes and escapes; expandWord removes them.
 */
export function splitWords(text: string, escape: EscapeCharacter): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: string | undefined
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] ?? ''
    if (quote !== undefined) {
      word += char
      if (char === escape && quote === '"' && i + 1 < text.length) word += text[++i] ?? ''
      else if (char === quote) quote = undefined
      continue
    }
    if (/\s/.test(char)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      continue
    }
    inWord = true
    word += char
    if (char === escape && i + 1 < text.length) word += text[++i] ?? ''
    else if (char === '"' || char === "'") quote = char
  }
  if (inWord) words.push(word)
  return words
}

/** What a variable holds at the point of expansion. */
export type VariableValue =
  | { readonly state: 'set'; readonly value: string }
  /** Declared without a value and given none, or never declared: expands to nothing. */
  | { readonly state: 'unset'; readonly declared: boolean }
  /** A value only the builder knows (BUILDPLATFORM without a given platform); kept as written. */
  | { readonly state: 'symbolic' }

export interface ExpansionContext {
  readonly escape: EscapeCharacter
  readonly lookup: (name: string) => VariableValue
  /** Whether a symbolic variable may stay in the result as written; if not, it is an error. */
  readonly allowSymbolic: boolean
  /** Where the word is, for error messages, e.g. `FROM on line 3`. */
  readonly where: string
}

export interface ExpandedWord {
  readonly value: string
  /** Whether a symbolic variable was left in the value as written. */
  readonly symbolic: boolean
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*/

/**
 * Expands `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
 * `${VAR:?message}` and `${VAR?message}` and removes quotes and escapes, like BuildKit's shell
 * lexer does for FROM. Stricter than BuildKit in one way: a plain reference to a variable without
 * a value is an error instead of an empty string, because for a base image name that is almost
 * always a missing build argument.
 */
export function expandWord(word: string, context: ExpansionContext): ExpandedWord {
  const expander = new WordExpander(word, context)
  return { value: expander.expand(), symbolic: expander.symbolic }
}

class WordExpander {
  symbolic = false
  private position = 0

  constructor(
    private readonly text: string,
    private readonly context: ExpansionContext
  ) {}

  expand(): string {
    let out = ''
    let quote: '"' | "'" | undefined
    const { escape } = this.context
    while (this.position < this.text.length) {
      const char = this.text[this.position] ?? ''
      if (quote === "'") {
        this.position += 1
        if (char === "'") quote = undefined
        else out += char
        continue
      }
      if (char === escape && this.position + 1 < this.text.length) {
        const next = this.text[this.position + 1] ?? ''
        this.position += 2
        // Inside double quotes the escape only protects $, " and itself, as in a POSIX shell.
        if (quote === '"' && next !== '$' && next !== '"' && next !== escape) out += char
        out += next
        continue
      }
      if (char === '"') {
        quote = quote === '"' ? undefined : '"'
        this.position += 1
        continue
      }
      if (char === "'" && quote === undefined) {
        quote = "'"
        this.position += 1
        continue
      }
      if (char === '$') {
        out += this.variable()
        continue
      }
      out += char
      this.position += 1
    }
    if (quote !== undefined) {
      throw this.syntaxError(`has an unterminated ${quote} quote`)
    }
    return out
  }

  /** Reads one `$...` at the current position and returns what it expands to. */
  private variable(): string {
    const start = this.position
    this.position += 1 // $
    if (this.text[this.position] !== '{') {
      const name = VARIABLE_NAME.exec(this.text.slice(this.position))?.[0]
      if (name === undefined) return '$' // a lone $ is literal
      this.position += name.length
      return this.plain(name, this.text.slice(start, this.position))
    }
    this.position += 1 // {
    const name = VARIABLE_NAME.exec(this.text.slice(this.position))?.[0]
    if (name === undefined) throw this.syntaxError('has a ${...} without a variable name')
    this.position += name.length
    if (this.text[this.position] === '}') {
      this.position += 1
      return this.plain(name, this.text.slice(start, this.position))
    }
    const operator = /^(:?[-+?])/.exec(this.text.slice(this.position))?.[1]
    if (operator === undefined) {
      throw new ActionError(
        'dockerfile-unsupported-substitution',
        `${this.context.where} uses a substitution in "${this.text}" that is not supported here.`,
        'Use $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alternative} or ${VAR:?message}.'
      )
    }
    this.position += operator.length
    const operand = this.operand()
    const original = this.text.slice(start, this.position)
    const value = this.context.lookup(name)
    if (value.state === 'symbolic') return this.keepSymbolic(name, original)
    const isSet = value.state === 'set'
    const isNonEmpty = isSet && value.value !== ''
    // With a colon the test is "set and not empty"; without, only "set".
    const present = operator.startsWith(':') ? isNonEmpty : isSet
    const current = isSet ? value.value : ''
    switch (operator.replace(':', '')) {
      case '-':
        return present ? current : this.nested(operand)
      case '+':
        return present ? this.nested(operand) : ''
      default: {
        if (present) return current
        const message = this.nested(operand)
        throw new ActionError(
          'dockerfile-required-variable',
          `${this.context.where} needs ${name}${message === '' ? '' : `: ${message}`}.`,
          `Pass the build argument ${name}=VALUE.`
        )
      }
    }
  }

  /** The word of `${VAR:-word}` up to its closing brace, nested `${...}` included. */
  private operand(): string {
    const start = this.position
    let depth = 0
    while (this.position < this.text.length) {
      const char = this.text[this.position]
      if (char === this.context.escape) {
        this.position += 2
        continue
      }
      if (char === '$' && this.text[this.position + 1] === '{') {
        depth += 1
        this.position += 2
        continue
      }
      if (char === '}') {
        if (depth === 0) {
          const operand = this.text.slice(start, this.position)
          this.position += 1
          return operand
        }
        depth -= 1
      }
      this.position += 1
    }
    throw this.syntaxError('has a ${ without its closing }')
  }

  private nested(operand: string): string {
    const inner = new WordExpander(operand, this.context)
    const value = inner.expand()
    if (inner.symbolic) this.symbolic = true
    return value
  }

  private plain(name: string, original: string): string {
    const value = this.context.lookup(name)
    if (value.state === 'set') return value.value
    if (value.state === 'symbolic') return this.keepSymbolic(name, original)
    throw new ActionError(
      'dockerfile-variable-without-value',
      value.declared
        ? `${this.context.where} uses ${name}, an ARG declared without a default value and not given as a build argument.`
        : `${this.context.where} uses ${name}, which is not declared with ARG before the first FROM.`,
      value.declared
        ? `Pass the build argument ${name}=VALUE or give the ARG a default (ARG ${name}=VALUE).`
        : `Declare it before the first FROM (ARG ${name}=DEFAULT); only those ARGs can be used in FROM.`
    )
  }

  private keepSymbolic(name: string, original: string): string {
    if (!this.context.allowSymbolic) {
      throw new ActionError(
        'dockerfile-platform-unknown',
        `${this.context.where} uses ${name}, which depends on the platform.`,
        name.startsWith('BUILD')
          ? 'BUILD* variables are the platform of the machine that builds; name the image with a literal or a TARGET* variable.'
          : 'Give the platform built for (e.g. linux/arm64).'
      )
    }
    this.symbolic = true
    return original
  }

  private syntaxError(problem: string): ActionError {
    return new ActionError(
      'dockerfile-bad-substitution',
      `${this.context.where} ${problem}: "${this.text}".`,
      'Fix the quoting or the ${...} in that instruction.'
    )
  }
}
