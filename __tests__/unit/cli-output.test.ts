import { describe, expect, it } from '@jest/globals'
import { plainLine, plainTerminalWriter } from '../../src/cli/plain-output.js'

const quiet = { debug: false }

describe('plainLine: a workflow command as a terminal shows it', () => {
  it.each([
    ['::group::Build', '\n==> Build'],
    ['::endgroup::', undefined],
    ['::warning::base image is not pinned', 'warning: base image is not pinned'],
    [
      '::error::[function-not-found] no fn. Fix: check it',
      'error: [function-not-found] no fn. Fix: check it'
    ],
    ['::notice::reused the image', 'notice: reused the image'],
    [
      '::warning file=Dockerfile,line=3,title=Unpinned base::FROM node:22',
      'warning: Dockerfile:3: Unpinned base: FROM node:22'
    ],
    ['::error::line one%0Aline two 100%25', 'error: line one\nline two 100%'],
    ['::add-mask::s3cr3t', undefined],
    ['::set-output name=image-uri::x', undefined],
    ['::debug::resolved in 2 ms', undefined],
    ['[command]docker buildx build --load .', '$ docker buildx build --load .'],
    ['Step 3/7 : RUN npm ci', 'Step 3/7 : RUN npm ci'],
    ['a :: in the middle', 'a :: in the middle']
  ])('%j → %j', (line, plain) => {
    expect(plainLine(line, quiet)).toBe(plain)
  })

  it('shows debug lines when asked (RUNNER_DEBUG=1)', () => {
    expect(plainLine('::debug::resolved', { debug: true })).toBe('debug: resolved')
  })
})

describe('plainTerminalWriter', () => {
  function through(chunks: string[]): string {
    let out = ''
    const writer = plainTerminalWriter(text => {
      out += text
    }, quiet)
    for (const chunk of chunks) writer.write(chunk)
    writer.flush()
    return out
  }

  it('translates commands split across writes, and leaves other text as written', () => {
    expect(through(['::gro', 'up::Push\nlayer 1/3\r', 'layer 2/3\n::endgroup::\n'])).toBe(
      '\n==> Push\nlayer 1/3\rlayer 2/3\n'
    )
  })

  it('passes a line without its break through at once unless it may become a command', () => {
    const seen: string[] = []
    const writer = plainTerminalWriter(text => seen.push(text), quiet)
    writer.write('progress 10%')
    expect(seen).toEqual(['progress 10%'])
    writer.write(' 20%\n:')
    expect(seen).toEqual(['progress 10%', ' 20%\n'])
    writer.write(':warning::late\n')
    expect(seen).toEqual(['progress 10%', ' 20%\n', 'warning: late\n'])
  })

  it('does not read "::" in the middle of a line as a command', () => {
    expect(through(['text then ', '::warning::x\n'])).toBe('text then ::warning::x\n')
  })

  it('never prints a masked value: not the mask command, nor the value in later output', () => {
    expect(through(['::add-mask::hunter2\n', 'done\n'])).toBe('done\n')
    expect(
      through([
        '::add-mask::hunter2\n',
        '::add-mask::hunter2-and-more\n',
        'token hunter2-and-more, then hunter2\n',
        '::warning::bad hunter2\n',
        'progress hunter2'
      ])
    ).toBe('token ***, then ***\nwarning: bad ***\nprogress ***')
  })

  it('masks a value split between two chunks of output', () => {
    expect(through(['::add-mask::hunter2\n', 'token hun', 'ter2 done\n', 'last hunt', 'er2'])).toBe(
      'token *** done\nlast ***'
    )
  })

  it('prints a command that ends without a line break when flushed', () => {
    expect(through(['::warning::last words'])).toBe('warning: last words\n')
  })
})
