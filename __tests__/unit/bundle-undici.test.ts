import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ProxyAgent } from '../../src/bundle/undici.js'

// The bundle has src/bundle/undici.ts in place of the npm package undici (tsconfig.json "paths").
// That is only sound while nothing that is bundled makes a ProxyAgent: these pin why it holds.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const read = (file: string) => readFileSync(path.join(root, file), 'utf8')
const libFiles = (pkg: string) =>
  readdirSync(path.join(root, 'node_modules', pkg, 'lib'))
    .filter(file => file.endsWith('.js'))
    .map(file => path.join('node_modules', pkg, 'lib', file))

describe('undici left out of the bundle', () => {
  it('is mapped to the stand-in for the bundler', () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as {
      compilerOptions: { paths?: Record<string, string[]> }
    }
    expect(tsconfig.compilerOptions.paths?.undici).toEqual(['./src/bundle/undici.ts'])
  })

  it('is imported by @actions/http-client for ProxyAgent alone, made only in getAgentDispatcher', () => {
    const client = read('node_modules/@actions/http-client/lib/index.js')
    const imports = [...client.matchAll(/import ([^;]+) from 'undici'/g)].map(match => match[1])
    expect(imports).toEqual(['{ ProxyAgent }'])
    expect(client.match(/new ProxyAgent\(/g)).toHaveLength(1)
    expect(client.match(/_getProxyAgentDispatcher\(/g)).toHaveLength(2) // its definition, one call
    expect(client).toMatch(
      /getAgentDispatcher\(serverUrl\) \{[^]{0,300}?this\._getProxyAgentDispatcher\(/
    )
  })

  it('is not reached: no bundled @actions package and no source file asks for a dispatcher', () => {
    const bundled = ['@actions/core', '@actions/exec', '@actions/io'].flatMap(libFiles)
    const sources = readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
      .filter(file => file.endsWith('.ts') && file !== path.join('bundle', 'undici.ts'))
      .map(file => path.join('src', file))
    expect(bundled.length).toBeGreaterThan(5)
    expect(sources.length).toBeGreaterThan(50)
    for (const file of [...bundled, ...sources]) {
      expect({ file, uses: /getAgentDispatcher|['"]undici['"]/.test(read(file)) }).toEqual({
        file,
        uses: false
      })
    }
    const sourceText = sources.map(read).join('\n')
    expect(sourceText).not.toMatch(/getIDToken|@actions\/http-client/)
  })

  it('is not in the committed bundle, whose first chunk has no ECR, STS or CloudWatch client', () => {
    // dist/ is the bundle of src/ (scripts/check-dist.sh): what start-up loads is read there.
    const dist = readdirSync(path.join(root, 'dist'), { recursive: true, encoding: 'utf8' })
      .filter(file => file.endsWith('.js'))
      .map(file => path.join('dist', file))
    expect(dist).toContain(path.join('dist', 'index.js'))
    // undici's own error codes stand in every build of it.
    for (const file of dist)
      expect({ file, undici: read(file).includes('UND_ERR_') }).toEqual({
        file,
        undici: false
      })
    const first = read('dist/index.js')
    expect(first).toContain('GetFunctionCommand')
    for (const lazy of [
      'DescribeRepositoriesCommand',
      'GetCallerIdentityCommand',
      'DescribeAlarmsCommand'
    ]) {
      expect({ lazy, inIndex: first.includes(lazy) }).toEqual({ lazy, inIndex: false })
    }
  })

  it('refuses to make a ProxyAgent, naming where it went', () => {
    expect(() => new ProxyAgent()).toThrow('src/bundle/undici.ts')
  })
})
