import { StringDecoder } from 'node:string_decoder'

/**
 * The action's steps log through @actions/core, which writes workflow commands to stdout
 * (`::group::Build`, `::warning file=Dockerfile,line=3::…`, `::add-mask::…`) and
 * `[command]docker …` echoes: the runner's protocol
 * (https://docs.github.com/actions/reference/workflows-and-actions/workflow-commands). In a
 * terminal they are noise, and core has no switch for them, so outside GitHub Actions the CLI
 * passes its stdout through this translator: each workflow-command line becomes plain text, or
 * nothing when it is meant for the runner only.
 */

export interface PlainOutputOptions {
  /** Print `::debug::` lines as `debug: …` (RUNNER_DEBUG=1, as the runner's debug logging). */
  readonly debug: boolean
}

/** The plain-text form of one stdout line (without its line break); undefined drops it. */
export function plainLine(line: string, options: PlainOutputOptions): string | undefined {
  if (line.startsWith('[command]')) return `$ ${line.slice('[command]'.length)}`
  const command = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/s.exec(line)
  if (command === null) return line
  const name = command[1]!
  const propertyText = command[2] ?? ''
  const message = unescapeData(command[3]!)
  switch (name) {
    case 'group':
      return `\n==> ${message}`
    case 'error':
    case 'warning':
    case 'notice': {
      const properties = parseProperties(propertyText)
      const where = [properties.file, properties.line, properties.col].filter(Boolean).join(':')
      const title = properties.title ? `${properties.title}: ` : ''
      return `${name}: ${where ? `${where}: ` : ''}${title}${message}`
    }
    case 'debug':
      return options.debug ? `debug: ${message}` : undefined
    default:
      // endgroup, add-mask (its data is the secret itself), set-output, save-state, echo,
      // stop-commands: for the runner only.
      return undefined
  }
}

/**
 * A writer that translates complete lines and passes everything else through at once, so that
 * progress output without a line break (docker's) is not held back. Only a line start that may
 * still become a workflow command waits for its line break.
 */
export function plainTerminalWriter(
  write: (text: string) => void,
  options: PlainOutputOptions
): { readonly write: (chunk: string) => void; readonly flush: () => void } {
  // What the runner would mask (::add-mask::) is masked here too: a terminal's output may be
  // another CI system's log.
  const secrets: string[] = []
  const masked = (text: string): string =>
    secrets.reduce((out, secret) => out.split(secret).join('***'), text)
  const emit = (text: string): void => write(masked(text))
  const plain = (line: string): string | undefined => {
    const mask = /^::add-mask::(.*)$/s.exec(line)
    if (mask) {
      const secret = unescapeData(mask[1]!)
      // Longest first, so that a secret containing another is masked whole.
      if (secret.trim() !== '' && !secrets.includes(secret)) {
        secrets.push(secret)
        secrets.sort((x, y) => y.length - x.length)
      }
      return undefined
    }
    return plainLine(line, options)
  }
  let atLineStart = true
  let held = ''
  const mayBeCommand = (text: string): boolean =>
    ['::', '[command]'].some(prefix => text.startsWith(prefix) || prefix.startsWith(text))
  // Once a value is masked, text is written whole lines at a time: a value split between two
  // chunks (docker's output comes as the pipe gives it) is then still masked.
  let partial = ''
  const writeLines = (chunk: string): void => {
    let text = held + partial + chunk
    held = ''
    partial = ''
    for (;;) {
      const end = text.indexOf('\n')
      if (end < 0) {
        partial = text
        return
      }
      if (atLineStart) {
        const translated = plain(text.slice(0, end).replace(/\r$/, ''))
        if (translated !== undefined) emit(`${translated}\n`)
      } else {
        emit(text.slice(0, end + 1))
        atLineStart = true
      }
      text = text.slice(end + 1)
    }
  }
  return {
    write(chunk) {
      if (secrets.length > 0) return writeLines(chunk)
      let text = held + chunk
      held = ''
      while (text !== '') {
        const end = text.indexOf('\n')
        if (!atLineStart) {
          if (end < 0) return emit(text)
          emit(text.slice(0, end + 1))
          atLineStart = true
          text = text.slice(end + 1)
          continue
        }
        if (end < 0) {
          if (mayBeCommand(text)) {
            held = text
            return
          }
          atLineStart = false
          return emit(text)
        }
        const line = text.slice(0, end).replace(/\r$/, '')
        const translated = plain(line)
        if (translated !== undefined) emit(`${translated}\n`)
        text = text.slice(end + 1)
      }
    },
    flush() {
      if (partial !== '') {
        // As without a mask: a last command gets its line break, other text is written as it is.
        const command = atLineStart && mayBeCommand(partial)
        const rest = command ? plain(partial.replace(/\r$/, '')) : partial
        partial = ''
        if (rest !== undefined) emit(command ? `${rest}\n` : rest)
      }
      if (held === '') return
      const translated = plain(held)
      held = ''
      if (translated !== undefined) emit(`${translated}\n`)
    }
  }
}

/**
 * Routes a stream's writes (the process's stdout) through plainTerminalWriter; returns the
 * function that flushes what is held and puts the stream back.
 */
export function usePlainTerminalOutput(
  stream: NodeJS.WriteStream,
  options: PlainOutputOptions
): () => void {
  // Kept unbound to be put back as it was; it is only ever called with .call(stream).
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = stream.write
  // A chunk of bytes may end inside a character (docker's output is echoed as it comes).
  const decoder = new StringDecoder('utf8')
  const writer = plainTerminalWriter(text => {
    original.call(stream, text)
  }, options)
  const plainWrite = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    writer.write(typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk)))
    // write(chunk, callback) and write(chunk, encoding, callback): the callback still runs.
    const callback = rest.find(argument => typeof argument === 'function')
    if (typeof callback === 'function') (callback as () => void)()
    return true
  }
  stream.write = plainWrite
  return () => {
    writer.flush()
    stream.write = original
  }
}

/** The runner's escaping of command data (toCommandValue/escapeData in @actions/core). */
function unescapeData(value: string): string {
  return value.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

function parseProperties(text: string): Record<string, string> {
  const properties: Record<string, string> = {}
  for (const pair of text.split(',')) {
    const equals = pair.indexOf('=')
    if (equals < 0) continue
    properties[pair.slice(0, equals)] = pair
      .slice(equals + 1)
      .replace(/%0D/g, '\r')
      .replace(/%0A/g, '\n')
      .replace(/%3A/g, ':')
      .replace(/%2C/g, ',')
      .replace(/%25/g, '%')
  }
  return properties
}
